import { describe, expect, it } from 'vitest';
import type { IHeaders } from 'kafkajs';
import { parseRefundRecord, VALUE_MAX_DEPTH } from '../../src/adapters/kafka/decode-record.js';
import { findJsonShapeProblem, nestsDeeperThan } from '../../src/domain/json-shape.js';
import { seededRandom } from '../../src/domain/random.js';
import {
  acceptCommonCase,
  jsonBytesBound,
  METADATA_MAX_DEPTH,
  validateRefundInitiated,
  validateWithSchema,
  type ValidationContext,
} from '../../src/domain/refund-initiated.js';
import { binaryHeaders, ce, consumedAt, deepMetadata, good, json, nested, origin, v2 } from '../support/refund-records.js';

/**
 * Records built to break the ingest rather than to be refunds: nesting deep enough to overflow a
 * recursive walk, text PostgreSQL refuses, timestamps outside the range of Date, and garbage.
 * None may throw out of parseRefundRecord: an exception there used to stop the ingest for good.
 */

const where = { topic: origin.topic, partition: origin.partition, antomApi: 'v2' as const };

function ingest(value: Buffer | null, options: { headers?: IHeaders; timestamp?: string; at?: number } = {}) {
  return parseRefundRecord(
    { value, headers: options.headers, timestamp: options.timestamp ?? v2.recordTimestamp, offset: origin.offset },
    where,
    options.at ?? consumedAt,
  );
}

function reason(result: ReturnType<typeof ingest>): string {
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.reason;
}

/** `levels` objects nested in one another, built without recursion (JSON.stringify would overflow). */
function deepObject(levels: number): Record<string, unknown> {
  let inner: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) inner = { a: inner };
  return inner;
}

function deepArray(levels: number): unknown[] {
  let inner: unknown[] = [];
  for (let i = 1; i < levels; i++) inner = [inner];
  return inner;
}

describe('deep nesting', () => {
  it.each([5_000, 200_000])('a record value %i levels deep is dead-lettered, not thrown', (levels) => {
    expect(reason(ingest(Buffer.from(nested(levels))))).toBe('the record value nests deeper than 32 levels');
    expect(reason(ingest(Buffer.from('['.repeat(levels) + ']'.repeat(levels))))).toBe('the record value nests deeper than 32 levels');
    expect(reason(ingest(Buffer.from(nested(levels)), { headers: binaryHeaders() }))).toBe('the record value nests deeper than 32 levels');
  });

  it('metadata thousands of levels deep is dead-lettered (the value bound comes first)', () => {
    expect(reason(ingest(deepMetadata(5_000)))).toBe('the record value nests deeper than 32 levels');
  });

  it('a CloudEvent data_base64 payload thousands of levels deep is dead-lettered', () => {
    const value = json({ specversion: '1.0', id: 'e', source: 's', type: 't', data_base64: Buffer.from(nested(5_000)).toString('base64') });
    expect(reason(ingest(value))).toBe('CloudEvent data_base64 nests deeper than 32 levels');
  });

  it('a CloudEvent data payload thousands of levels deep is dead-lettered', () => {
    const value = Buffer.from(`{"specversion":"1.0","id":"e","source":"s","type":"t","data":${nested(5_000)}}`);
    expect(reason(ingest(value))).toBe('the record value nests deeper than 32 levels');
  });

  it('the limits are where they say: 32 levels of value and 16 of metadata pass, one more does not', () => {
    expect(VALUE_MAX_DEPTH).toBe(32);
    expect(METADATA_MAX_DEPTH).toBe(16);
    // The value: 32 levels with the payload one of them.
    const at32 = Buffer.from(`{"refundId":"R-1","paymentId":"P-1","extra":${'['.repeat(31)}${']'.repeat(31)}}`);
    const at33 = Buffer.from(`{"refundId":"R-1","paymentId":"P-1","extra":${'['.repeat(32)}${']'.repeat(32)}}`);
    expect(ingest(at32).ok).toBe(true);
    expect(reason(ingest(at33))).toBe('the record value nests deeper than 32 levels');
    // Metadata: 16 levels with metadata itself one of them.
    const r16 = ingest(deepMetadata(16));
    expect(r16.ok).toBe(true);
    expect(reason(ingest(deepMetadata(17)))).toBe('metadata nests deeper than 16 levels');
  });

  it('validateRefundInitiated, called directly, refuses metadata 200,000 levels deep without throwing', () => {
    for (const deep of [deepObject(200_000), deepArray(200_000)]) {
      const payload = { refundId: 'R-1', paymentId: 'P-1', metadata: { x: deep } };
      expect(validateRefundInitiated(payload, v2)).toEqual({ ok: false, problems: ['metadata nests deeper than 16 levels'] });
      expect(acceptCommonCase(payload, v2)).toBeUndefined();
      expect(validateWithSchema(payload, v2)).toEqual({ ok: false, problems: ['metadata nests deeper than 16 levels'] });
    }
  });

  it('refuses cyclic metadata (only JavaScript can build it) as too deep, without throwing', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(validateRefundInitiated({ refundId: 'R-1', paymentId: 'P-1', metadata: cyclic }, v2)).toEqual({
      ok: false,
      problems: ['metadata nests deeper than 16 levels'],
    });
  });

  it('ignores deep nesting in fields it does not read, and refuses it in those it does', () => {
    expect(validateRefundInitiated({ refundId: 'R-1', paymentId: 'P-1', extra: deepObject(200_000) }, v2).ok).toBe(true);
    expect(validateRefundInitiated({ refundId: 'R-1', paymentId: 'P-1', customer: { name: deepObject(200_000) } }, v2)).toEqual({
      ok: false,
      problems: ['customer.name must be a string'],
    });
  });

  it('the shape walk and the size bound stop early on any depth', () => {
    expect(nestsDeeperThan(deepObject(200_000), 32)).toBe(true);
    expect(nestsDeeperThan(deepObject(32), 32)).toBe(false);
    expect(nestsDeeperThan(deepArray(33), 32)).toBe(true);
    expect(nestsDeeperThan('a string', 0)).toBe(false);
    expect(findJsonShapeProblem(deepObject(200_000), 16, true)).toEqual({ kind: 'too-deep' });
    expect(jsonBytesBound(deepObject(200_000), 4096, 0)).toBe(Infinity);
    expect(jsonBytesBound(deepArray(200_000), 4096, 0)).toBe(Infinity);
  });
});

describe('characters PostgreSQL, logs and mail cannot take', () => {
  // Every field and code point is in the bad-record table (test/support/refund-records.ts), with
  // its reason; here, what must stay allowed, and the metadata rules.
  it('accepts surrogate pairs, non-ASCII letters and C1 controls in text fields', () => {
    const r = ingest(
      json({
        ...good,
        paymentMethodType: 'CARD 😀',
        refundReason: 'Zoë’s order \u0085 next line',
        customer: { name: '山田 😀', email: 'zoë@exämple.com', locale: 'pt-BR' },
      }),
    );
    expect(r.ok).toBe(true);
  });

  it('accepts control characters other than NUL in metadata keys and values (JSON escapes them)', () => {
    const metadata = { note: 'tab\there\nline\u0001\u001f\u007f', '\u0001key': ['\u001b[31m'], '😀': { '😀': '😀' } };
    const r = ingest(json({ ...good, metadata }));
    expect(r.ok && r.refund.metadata).toEqual(metadata);
  });

  it('refuses NUL and lone surrogates in metadata keys and values at any depth', () => {
    const at = (metadata: unknown) => reason(ingest(json({ ...good, metadata })));
    expect(at({ a: { b: { c: ['x', 'y\u0000'] } } })).toBe('metadata.a.b.c[1] contains a NUL character (U+0000), which PostgreSQL cannot store');
    expect(at({ a: { b: { 'c\u0000': 1 } } })).toBe('the key metadata.a.b["c\\u0000"] contains a NUL character (U+0000), which PostgreSQL cannot store');
    expect(at({ a: [{ '\ud800x': 1 }] })).toBe('the key metadata.a[0]["\\ud800x"] contains a lone surrogate (U+D800), which is not well-formed Unicode');
    expect(at({ 'a b': '\udfff' })).toBe('metadata["a b"] contains a lone surrogate (U+DFFF), which is not well-formed Unicode');
    expect(at({ ['k'.repeat(100)]: '\u0000' })).toMatch(/^metadata\["k{40}…"\] contains a NUL character/);
  });

  it('the ids keep their pattern, which already excludes every control character and surrogate', () => {
    for (const field of ['refundId', 'refundRequestId', 'paymentId', 'merchantAccountId']) {
      for (const char of ['\u0000', '\u0009', '\u001f', '\u007f', '\ud800', '\udc00', '😀']) {
        expect(reason(ingest(json({ ...good, [field]: `X${char}1` })))).toBe(`${field} must be printable ASCII without spaces`);
      }
    }
  });
});

describe('the record timestamp', () => {
  const noInitiatedAt = json(good);
  const atConsumption = new Date(consumedAt).toISOString();

  it('a usable timestamp is the default initiatedAt, and the origin is exactly as before', () => {
    const r = ingest(noInitiatedAt, { timestamp: String(Date.parse('2026-11-25T09:59:00.123Z')) });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.refund.initiatedAt).toBe('2026-11-25T09:59:00.123Z');
    expect(r.refund.origin).toStrictEqual(origin);
    expect(Object.keys(r.refund.origin)).toEqual(['topic', 'partition', 'offset']);
  });

  it.each([
    ['-1', '-1', 'the record has no timestamp (-1); the time of consumption was used'],
    ['-5', '-5', 'record timestamp -5 is negative; the time of consumption was used'],
    ['abc', 'abc', 'record timestamp "abc" is not a whole number of epoch milliseconds; the time of consumption was used'],
    ['', '', 'record timestamp "" is not a whole number of epoch milliseconds; the time of consumption was used'],
    ['1.5e12', '1.5e12', 'record timestamp "1.5e12" is not a whole number of epoch milliseconds; the time of consumption was used'],
    [' 1764064800000', ' 1764064800000', 'record timestamp " 1764064800000" is not a whole number of epoch milliseconds; the time of consumption was used'],
    ['a\u0000b', 'a\\u0000b', 'record timestamp "a\\u0000b" is not a whole number of epoch milliseconds; the time of consumption was used'],
    [
      '1732950000000000000',
      '1732950000000000000',
      'record timestamp 1732950000000000000 is not a plausible epoch-millisecond time (it is more than a day after the time of consumption); the time of consumption was used',
    ],
    [
      '1732950000000000',
      '1732950000000000',
      'record timestamp 1732950000000000 is not a plausible epoch-millisecond time (it is more than a day after the time of consumption); the time of consumption was used',
    ],
    [
      '9'.repeat(40),
      `${'9'.repeat(32)}…`,
      `record timestamp ${'9'.repeat(32)}… is not a plausible epoch-millisecond time (it is more than a day after the time of consumption); the time of consumption was used`,
    ],
  ])('%j is not used: the time of consumption is, and the origin says why', (timestamp, recorded, note) => {
    const r = ingest(noInitiatedAt, { timestamp });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.refund.initiatedAt).toBe(atConsumption);
    expect(r.refund.origin).toStrictEqual({ ...origin, recordTimestamp: recorded, timestampNote: note });
  });

  it('a very long timestamp that is not a number is shortened in the origin', () => {
    const r = ingest(noInitiatedAt, { timestamp: 'x'.repeat(1_000) });
    expect(r.ok && r.refund.origin.recordTimestamp).toBe(`${'x'.repeat(32)}…`);
  });

  it('a day of clock skew is tolerated, a millisecond more is not', () => {
    const day = 24 * 60 * 60 * 1000;
    const ahead = ingest(noInitiatedAt, { timestamp: String(consumedAt + day) });
    expect(ahead.ok && ahead.refund.initiatedAt).toBe(new Date(consumedAt + day).toISOString());
    expect(ahead.ok && ahead.refund.origin).toStrictEqual(origin);
    const tooFar = ingest(noInitiatedAt, { timestamp: String(consumedAt + day + 1) });
    expect(tooFar.ok && tooFar.refund.initiatedAt).toBe(atConsumption);
    expect(tooFar.ok && tooFar.refund.origin.timestampNote).toMatch(/not a plausible epoch-millisecond time/);
  });

  it('an initiatedAt in the payload makes the timestamp irrelevant: no note', () => {
    const r = ingest(json({ ...good, initiatedAt: '2026-11-24T08:00:00Z' }), { timestamp: '-1' });
    expect(r.ok && r.refund).toMatchObject({ initiatedAt: '2026-11-24T08:00:00Z', origin });
    expect(r.ok && r.refund.origin).toStrictEqual(origin);
  });

  it('the fast path and the schema build the same refund for a bad timestamp', () => {
    const ctx: ValidationContext = { ...v2, recordTimestamp: '1732950000000000000' };
    const payload = JSON.parse(JSON.stringify(good)) as unknown;
    const fast = acceptCommonCase(payload, ctx);
    const slow = validateWithSchema(payload, ctx);
    expect(fast).toBeDefined();
    expect(slow.ok && slow.refund).toStrictEqual(fast);
  });

  it('a consumption time that is not a time is the caller’s bug, and throws', () => {
    expect(() => ingest(noInitiatedAt, { at: Number.NaN })).toThrow(TypeError);
    expect(() => ingest(noInitiatedAt, { at: 9e15 })).toThrow(TypeError);
  });
});

describe('parseRefundRecord never throws', () => {
  it('turns an exception while decoding into the record’s dead-letter reason', () => {
    const headers = new Proxy({} as IHeaders, {
      get() {
        throw new Error('boom');
      },
    });
    expect(reason(ingest(json(good), { headers }))).toBe('the record could not be validated: Error: boom');
  });

  // Text that tends to break things: structure characters, escapes, controls, halves of pairs.
  const ATOMS = ['{', '}', '[', ']', '"', ':', ',', '\\', '\\u0000', '\\ud800', '\\udc00', '\u0000', '\u001f', '\u007f', 'é', '😀', '1', '-1', '1e999', 'null', 'true', ' ', 'a'];

  function garbage(rng: () => number): Buffer {
    const kind = rng();
    if (kind < 0.4) return Buffer.from(Array.from({ length: Math.floor(rng() * 200) }, () => Math.floor(rng() * 256)));
    return Buffer.from(Array.from({ length: Math.floor(rng() * 60) }, () => ATOMS[Math.floor(rng() * ATOMS.length)]!).join(''));
  }

  /** Random JSON text, near the contract or not, nesting up to 80 levels (built without recursion). */
  function randomJson(rng: () => number): string {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const str = () =>
      JSON.stringify(Array.from({ length: Math.floor(rng() * 12) }, () => String.fromCharCode(pick([0, 1, 0x1f, 0x41, 0x7f, 0xe9, 0xd800, 0xdc00, 0xd83d, 0xde00, 0x20ac]))).join(''));
    const scalar = () => pick([str, () => String(Math.floor(rng() * 1e6)), () => 'null', () => 'true', () => '-0', () => '1e400', () => '0.5'])();
    const fields = ['refundId', 'refundRequestId', 'paymentId', 'refundAmount', 'merchantAccountId', 'paymentMethodType', 'refundReason', 'customer', 'initiatedAt', 'metadata', 'specversion', 'id', 'source', 'type', 'data', 'data_base64', '__proto__'];
    const value = (): string => {
      const levels = rng() < 0.1 ? Math.floor(rng() * 80) : Math.floor(rng() * 4);
      let text = rng() < 0.5 ? scalar() : `{${Array.from({ length: Math.floor(rng() * 4) }, () => `${JSON.stringify(pick(fields))}:${scalar()}`).join(',')}}`;
      for (let i = 0; i < levels; i++) text = rng() < 0.5 ? `[${text}]` : `{${JSON.stringify(pick(fields))}:${text}}`;
      return text;
    };
    const members = Array.from({ length: Math.floor(rng() * 8) }, () => `${JSON.stringify(pick(fields))}:${value()}`);
    if (rng() < 0.5) members.push('"refundId":"R-1"', '"paymentId":"P-1"');
    if (rng() < 0.2) members.push('"specversion":"1.0"', '"id":"e"', '"source":"s"', '"type":"t"');
    return rng() < 0.9 ? `{${members.join(',')}}` : value();
  }

  const TIMESTAMPS = ['1764064800000', '-1', 'abc', '', '1732950000000000000', '1732950000000000', '9'.repeat(400), '-9'.repeat(40), 'NaN', 'Infinity'];
  const HEADERS: Array<IHeaders | undefined> = [
    undefined,
    binaryHeaders(),
    { 'content-type': 'application/cloudevents+json' },
    { ce_specversion: Buffer.from([0xff, 0x00]), 'content-type': [Buffer.from('application/json')] } as IHeaders,
    { ce_specversion: '1.0', ce_id: '\u0000', ce_source: 's', ce_type: 't' },
  ];

  it('over 20,000 random buffers and random JSON documents, each one accepted or given a reason', () => {
    const rng = seededRandom(1732950000);
    let accepted = 0;
    const problems: string[] = [];
    for (let i = 0; i < 20_000 && problems.length < 10; i++) {
      const value = i % 3 === 0 ? garbage(rng) : i % 3 === 1 ? Buffer.from(randomJson(rng)) : ce(JSON.parse(`[${randomJson(rng)}]`)[0] as unknown);
      const headers = HEADERS[Math.floor(rng() * HEADERS.length)];
      const timestamp = TIMESTAMPS[Math.floor(rng() * TIMESTAMPS.length)]!;
      const record = `record ${i} (base64 ${value.toString('base64').slice(0, 200)}, timestamp ${timestamp})`;
      try {
        const result = ingest(value, { headers, timestamp });
        if (result.ok) {
          accepted += 1;
          if (Number.isNaN(Date.parse(result.refund.initiatedAt))) problems.push(`${record}: initiatedAt ${result.refund.initiatedAt}`);
        } else if (!/\S/.test(result.reason) || result.reason.startsWith('the record could not be validated')) {
          // The catch-all is a last line; random records must all meet a rule before it.
          problems.push(`${record}: ${result.reason}`);
        }
      } catch (err) {
        problems.push(`${record} threw ${String(err)}`);
      }
    }
    expect(problems).toEqual([]);
    // Some random documents are valid refunds: the generator reaches past the first checks.
    expect(accepted).toBeGreaterThan(100);
  });
});
