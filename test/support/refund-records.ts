import type { IHeaders } from 'kafkajs';
import type { ValidationContext } from '../../src/domain/refund-initiated.js';

/**
 * Refund-initiated records for the ingest tests: a valid payload, the record encodings, and the
 * table of bad records with the reason each must produce. Shared by ingest-parsing.test.ts (the
 * reasons) and refund-initiated-fast.test.ts (the fast check refuses every one of them too).
 */

export const origin = { topic: 'refunds.initiated', partition: 0, offset: '42' };
// The record was produced at 10:00:00 and consumed five seconds later.
export const consumedAt = Date.parse('2026-11-25T10:00:05Z');
export const v2: ValidationContext = { antomApi: 'v2', recordTimestamp: String(Date.parse('2026-11-25T10:00:00Z')), consumedAt, origin };
export const v1: ValidationContext = { ...v2, antomApi: 'v1' };

export const good = {
  refundId: 'R-2026-0001',
  refundRequestId: 'RQ-1',
  paymentId: 'P-1',
  refundAmount: { currency: 'USD', value: '1250' },
  customer: { email: 'jane@example.com', name: 'Jane', locale: 'en-GB' },
  metadata: { orderId: 'O-9' },
};

export const json = (v: unknown) => Buffer.from(JSON.stringify(v));
export const ce = (data: unknown, extra: Record<string, unknown> = {}) =>
  json({ specversion: '1.0', id: 'e-1', source: '/payments', type: 'refund.initiated', data, ...extra });
export const binaryHeaders = (over: Record<string, string | undefined> = {}): IHeaders => {
  const h: Record<string, string> = {
    ce_specversion: '1.0',
    ce_id: 'e-2',
    ce_source: '/payments',
    ce_type: 'refund.initiated',
    'content-type': 'application/json',
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete h[k];
    else h[k] = v;
  }
  return h;
};

const big = { blob: 'x'.repeat(4100) };

/** JSON text of `levels` objects nested in one another around `inner`: {"a":{"a":…inner…}}. */
export const nested = (levels: number, inner = '1') => '{"a":'.repeat(levels) + inner + '}'.repeat(levels);
/** A record whose metadata is `levels` deep within itself, as JSON text (JSON.stringify would overflow). */
export const deepMetadata = (levels: number) =>
  Buffer.from(`{"refundId":"R-1","paymentId":"P-1","metadata":{"x":${nested(levels - 1)}}}`);
// 5,000 levels: far past any bound, and past where a recursive walker or JSON.stringify overflows.
const DEEP = 5_000;

/** A record with `value` in one text field, for the character rules. */
const withText = (field: string, value: string): Buffer => {
  if (!field.startsWith('customer.')) return json({ ...good, [field]: value });
  return json({ ...good, customer: { ...good.customer, [field.slice('customer.'.length)]: value } });
};
const TEXT_FIELDS = ['paymentMethodType', 'refundReason', 'customer.name', 'customer.email', 'customer.locale'];
// In an address, a control character is put where it would otherwise pass the EMAIL pattern.
const inField = (field: string, char: string) => (field === 'customer.email' ? `ja${char}ne@example.com` : field === 'customer.locale' ? `en${char}` : `a${char}b`);

/** Control characters and lone surrogates in every text field: [name, value, reason]. */
export const unsafeText: Array<[string, Buffer, RegExp]> = TEXT_FIELDS.flatMap((field) =>
  (
    [
      [0x00, 'a control character'],
      [0x01, 'a control character'],
      [0x08, 'a control character'],
      [0x0e, 'a control character'],
      [0x1f, 'a control character'],
      [0x7f, 'a control character'],
      [0xd800, 'a lone surrogate'],
      [0xdfff, 'a lone surrogate'],
    ] as const
  ).map(([unit, what]): [string, Buffer, RegExp] => {
    const hex = unit.toString(16).toUpperCase().padStart(4, '0');
    return [
      `${field} with U+${hex}`,
      // JSON.stringify writes a lone surrogate as a \uXXXX escape, as a producer's JSON would.
      withText(field, inField(field, String.fromCharCode(unit))),
      new RegExp(`${field.replace('.', '\\.')} contains ${what} \\(U\\+${hex}\\)`),
    ];
  }),
);
export const badRecords: Array<[string, Buffer | null, IHeaders | undefined, RegExp, ValidationContext?]> = [
  ['null value (tombstone)', null, undefined, /value is empty/],
  ['empty value', Buffer.alloc(0), undefined, /value is empty/],
  ['whitespace value', Buffer.from('  \n'), undefined, /is empty/],
  ['not JSON', Buffer.from('refund R-1 please'), undefined, /not valid JSON/],
  ['truncated JSON', Buffer.from('{"refundId":"R-1",'), undefined, /not valid JSON/],
  ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), undefined, /not valid UTF-8/],
  ['JSON array', json([good]), undefined, /must be a JSON object, got an array/],
  ['JSON string', json('R-1'), undefined, /must be a JSON object, got a string/],
  ['JSON null', Buffer.from('null'), undefined, /must be a JSON object, got null/],
  ['JSON number', Buffer.from('12'), undefined, /must be a JSON object, got a number/],
  ['refundId a number', json({ ...good, refundId: 12345 }), undefined, /refundId must be a string/],
  ['paymentId missing', json({ refundId: 'R-1' }), undefined, /paymentId is required/],
  ['refundId missing on v2', json({ paymentId: 'P-1', refundRequestId: 'RQ' }), undefined, /refundId is required \(ANTOM_API is v2/],
  ['both ids missing on v1', json({ paymentId: 'P-1' }), undefined, /refundId or refundRequestId is required/, v1],
  ['empty refundId', json({ ...good, refundId: '' }), undefined, /refundId must not be empty/],
  ['refundId over 64 characters', json({ ...good, refundId: 'R'.repeat(65) }), undefined, /refundId is longer than 64/],
  ['refundRequestId over 64', json({ ...good, refundRequestId: 'Q'.repeat(65) }), undefined, /refundRequestId is longer than 64/],
  ['paymentId over 64', json({ ...good, paymentId: 'P'.repeat(65) }), undefined, /paymentId is longer than 64/],
  ['refundId with a space', json({ ...good, refundId: 'R 1' }), undefined, /printable ASCII without spaces/],
  ['amount as a number', json({ ...good, refundAmount: 12.5 }), undefined, /refundAmount must be an object/],
  ['amount value with decimals', json({ ...good, refundAmount: { currency: 'USD', value: '12.50' } }), undefined, /whole number of minor units/],
  ['negative amount', json({ ...good, refundAmount: { currency: 'USD', value: -5 } }), undefined, /must not be negative/],
  ['lower-case currency', json({ ...good, refundAmount: { currency: 'usd', value: '1' } }), undefined, /ISO 4217/],
  ['customer email malformed', json({ ...good, customer: { email: 'jane-at-example' } }), undefined, /customer.email is not an email/],
  ['customer not an object', json({ ...good, customer: 'jane' }), undefined, /customer must be an object/],
  ['initiatedAt not a date', json({ ...good, initiatedAt: 'yesterday' }), undefined, /initiatedAt must be an ISO-8601/],
  ['initiatedAt without offset', json({ ...good, initiatedAt: '2026-11-25T10:00:00' }), undefined, /with an offset/],
  ['metadata an array', json({ ...good, metadata: [1, 2] }), undefined, /metadata must be a JSON object/],
  ['oversized metadata', json({ ...good, metadata: big }), undefined, /metadata is larger than 4096 bytes/],
  ['CloudEvent without data', ce(undefined), undefined, /CloudEvent has no data/],
  ['CloudEvent with null data', ce(null), undefined, /CloudEvent has no data/],
  ['CloudEvent wrong specversion', ce(good, { specversion: '0.3' }), undefined, /specversion must be "1.0"/],
  ['CloudEvent missing id and type', ce(good, { id: undefined, type: '' }), undefined, /missing required attributes id, type/],
  ['CloudEvent declared but an array', json([1]), { 'content-type': 'application/cloudevents+json' }, /must be a JSON object/],
  ['CloudEvent with XML data', ce(good, { datacontenttype: 'application/xml' }), undefined, /datacontenttype must be JSON/],
  ['CloudEvent data not an object', ce('R-1'), undefined, /must be a JSON object, got a string/],
  ['CloudEvent data_base64 not JSON', json({ specversion: '1.0', id: 'e', source: 's', type: 't', data_base64: 'bm9wZQ==' }), undefined, /data_base64 is not valid JSON/],
  ['binary mode missing ce_id', json(good), binaryHeaders({ ce_id: undefined }), /binary-mode CloudEvent is missing required attribute ce_id/],
  ['binary mode bad specversion', json(good), binaryHeaders({ ce_specversion: '2.0' }), /binary-mode CloudEvent ce_specversion must be "1.0"/],
  ['binary mode empty source', json(good), binaryHeaders({ ce_source: '' }), /ce_source/],
  ['binary mode non-JSON content type', json(good), binaryHeaders({ 'content-type': 'text/plain' }), /content-type must be JSON/],
  ['binary mode value not JSON', Buffer.from('<refund/>'), binaryHeaders(), /not valid JSON/],
  ['binary mode with a data wrapper instead of the object', json({ data: good }), binaryHeaders(), /paymentId is required/],
  ['value nested 5,000 levels', Buffer.from(nested(DEEP)), undefined, /^the record value nests deeper than 32 levels$/],
  ['value nested 33 levels', Buffer.from(nested(33)), undefined, /^the record value nests deeper than 32 levels$/],
  ['metadata nested 5,000 levels', deepMetadata(DEEP), undefined, /^the record value nests deeper than 32 levels$/],
  ['metadata nested 17 levels', deepMetadata(17), undefined, /^metadata nests deeper than 16 levels$/],
  ['metadata nested 30 levels in arrays', Buffer.from(`{"refundId":"R-1","paymentId":"P-1","metadata":{"x":${'['.repeat(29)}${']'.repeat(29)}}}`), undefined, /^metadata nests deeper than 16 levels$/],
  ['CloudEvent data nested 5,000 levels', Buffer.from(`{"specversion":"1.0","id":"e","source":"s","type":"t","data":${nested(DEEP)}}`), undefined, /^the record value nests deeper than 32 levels$/],
  ['CloudEvent data_base64 nested 5,000 levels', json({ specversion: '1.0', id: 'e', source: 's', type: 't', data_base64: Buffer.from(nested(DEEP)).toString('base64') }), undefined, /^CloudEvent data_base64 nests deeper than 32 levels$/],
  ['binary mode value nested 5,000 levels', Buffer.from(nested(DEEP)), binaryHeaders(), /^the record value nests deeper than 32 levels$/],
  ['CloudEvent specversion nested 5,000 levels', Buffer.from(`{"specversion":${nested(DEEP)},"id":"e","source":"s","type":"t","data":{}}`), undefined, /nests deeper than 32 levels/],
  ...unsafeText.map(([name, value, reason]): [string, Buffer, undefined, RegExp] => [name, value, undefined, reason]),
  ['refundId with U+0000', json({ ...good, refundId: 'R\u00001' }), undefined, /refundId must be printable ASCII without spaces/],
  ['refundId with U+007F', json({ ...good, refundId: 'R\u007f1' }), undefined, /refundId must be printable ASCII without spaces/],
  ['paymentId with a lone surrogate', json({ ...good, paymentId: 'P\ud800' }), undefined, /paymentId must be printable ASCII without spaces/],
  ['merchantAccountId with U+001B', json({ ...good, merchantAccountId: 'M\u001b[31m' }), undefined, /merchantAccountId must be printable ASCII without spaces/],
  ['refundRequestId with U+0009', json({ ...good, refundRequestId: 'RQ\t1' }), undefined, /refundRequestId must be printable ASCII without spaces/],
  ['metadata value with NUL', json({ ...good, metadata: { note: 'a\u0000b' } }), undefined, /^metadata\.note contains a NUL character \(U\+0000\), which PostgreSQL cannot store$/],
  ['metadata nested value with NUL', json({ ...good, metadata: { order: { lines: [{ sku: 'x' }, { sku: '\u0000' }] } } }), undefined, /^metadata\.order\.lines\[1\]\.sku contains a NUL character \(U\+0000\)/],
  ['metadata nested key with NUL', json({ ...good, metadata: { order: { 'k\u0000y': 1 } } }), undefined, /^the key metadata\.order\["k\\u0000y"\] contains a NUL character \(U\+0000\), which PostgreSQL cannot store$/],
  ['metadata key with a lone surrogate', json({ ...good, metadata: { '\udc00': 1 } }), undefined, /^the key metadata\["\\udc00"\] contains a lone surrogate \(U\+DC00\), which is not well-formed Unicode$/],
  ['metadata nested value with a lone surrogate', json({ ...good, metadata: { a: [['ok', '\ud83d']] } }), undefined, /^metadata\.a\[0\]\[1\] contains a lone surrogate \(U\+D83D\)/],
];
