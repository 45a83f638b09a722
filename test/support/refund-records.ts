import type { IHeaders } from 'kafkajs';
import type { ValidationContext } from '../../src/domain/refund-initiated.js';

/**
 * Refund-initiated records for the ingest tests: a valid payload, the record encodings, and the
 * table of bad records with the reason each must produce. Shared by ingest-parsing.test.ts (the
 * reasons) and refund-initiated-fast.test.ts (the fast check refuses every one of them too).
 */

export const origin = { topic: 'refunds.initiated', partition: 0, offset: '42' };
export const v2: ValidationContext = { antomApi: 'v2', recordTimestamp: Date.parse('2026-11-25T10:00:00Z'), origin };
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
];
