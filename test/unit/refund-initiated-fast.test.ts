import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/adapters/kafka/decode-record.js';
import {
  acceptCommonCase,
  jsonBytesBound,
  validateRefundInitiated,
  validateWithSchema,
  type ValidationContext,
} from '../../src/domain/refund-initiated.js';
import { badRecords, good, nested, v1, v2 } from '../support/refund-records.js';

/**
 * The fast check of the common case must never accept what the schema refuses, and must build the
 * very refund the schema path builds; validateRefundInitiated (fast, then schema) must therefore
 * answer exactly as the schema alone, reasons included.
 */
function disagreement(payload: unknown, ctx: ValidationContext): string | undefined {
  const slow = validateWithSchema(payload, ctx);
  const fast = acceptCommonCase(payload, ctx);
  if (fast && !slow.ok) return `fast accepted what the schema refuses (${slow.problems.join('; ')})`;
  if (fast && slow.ok && !equal(fast, slow.refund)) return `fast built ${JSON.stringify(fast)}, the schema ${JSON.stringify(slow.refund)}`;
  if (!equal(validateRefundInitiated(payload, ctx), slow)) return 'validateRefundInitiated differs from the schema';
  return undefined;
}

// Own keys (an undefined one too), values and prototypes all count.
const equal = isDeepStrictEqual;

// A seeded generator (mulberry32): the same mutations on every run, so a failure reproduces.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Valid payloads of several shapes; the mutations below break them (or not) in many ways.
const bases: Array<Record<string, unknown>> = [
  good,
  {
    refundId: 'BR-00000042',
    refundRequestId: 'RQ-42',
    paymentId: 'PAY-42',
    refundAmount: { currency: 'USD', value: '142' },
    merchantAccountId: 'M-1',
    paymentMethodType: 'ALIPAY_CN',
    customer: { email: 'customer42@example.com', name: 'Customer 42', locale: 'en' },
    initiatedAt: '2025-11-24T16:00:00.042Z',
    metadata: { orderId: 'ORD-42', channel: 'web' },
  },
  { refundId: 'R-1', paymentId: 'P-1' },
  { refundRequestId: 'RQ-7', paymentId: 'P-7', refundAmount: { currency: 'JPY', value: 500 } },
  {
    refundId: 'R-9',
    paymentId: 'P-9',
    refundReason: 'customer changed their mind',
    initiatedAt: '2026-11-24T08:00:00.123456789+08:00',
    customer: { name: 'Zoë', locale: 'pt_BR' },
    metadata: { nested: { a: [1, 2, { b: null }] }, n: 1.5, yes: true },
  },
  // Metadata at its depth limit, with control characters (allowed there: JSON escapes them) and a
  // surrogate pair in keys and values.
  {
    refundId: 'R-16',
    paymentId: 'P-16',
    paymentMethodType: 'CARD 😀',
    metadata: { deep: JSON.parse(nested(15)) as unknown, 'tab\tkey': 'line\nbreak\u0001\u007f', '😀': ['😀'] },
  },
];

// Record timestamps of every class: usable, none (-1), not a number, nanoseconds, microseconds,
// negative, a day and a bit ahead of consumption, beyond the range of Date. Records are validated
// against each in turn: a bad timestamp changes the refund built, never whether it is accepted.
const STAMPS = ['1764064800000', '-1', 'abc', '1732950000000000000', '1732950000000000', '-5', String(v2.consumedAt + 86_400_001), '9'.repeat(30), '', '0'];

const KEYS = ['refundId', 'refundRequestId', 'paymentId', 'refundAmount', 'merchantAccountId', 'paymentMethodType', 'refundReason', 'customer', 'initiatedAt', 'metadata'];
const NESTED: Record<string, string[]> = { refundAmount: ['currency', 'value'], customer: ['email', 'name', 'locale'] };

// Values that sit on either side of a rule, or break a type. RAW(...) is put into the JSON text
// as it is, for what JSON.stringify cannot write (-0, exponents, a number too large for a double,
// nesting deep enough to overflow it).
const RAW_TEXTS: string[] = [];
const RAW = (text: string) => `@@RAW:${RAW_TEXTS.push(text) - 1}@@`;
// 5,000 levels overflow JSON.stringify and any recursive walk; 500 are as far past every bound.
// The deepest are rarer only to keep the test fast (parsing them is what costs).
const DEEP_OBJECT = RAW(nested(5_000));
const DEEP_ARRAY = RAW(`${'['.repeat(5_000)}${']'.repeat(5_000)}`);
const DEEPISH = RAW(nested(500));
const POOL: unknown[] = [
  null, true, false, 0, 1, -1, 1.5, 2 ** 53 - 1, 2 ** 53, 1e21, RAW('-0'), RAW('1e2'), RAW('1E400'), RAW('5.0'),
  '', ' ', 'x', 'R-1', 'R 1', 'R\t1', 'Ré', '€', '😀', '\u0000', '\u007f', '~', 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(65),
  'x'.repeat(254), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(257), 'USD', 'usd', 'US', 'USDX', 'EUR', '0', '007', '1'.repeat(18),
  '1'.repeat(19), '-5', '12.50', '1e3', ' 12', 'en', 'pt-BR', 'pt_BR', 'zh-Hant-TW', 'e', 'en-', 'en-x', 'english', 'a@b.c', 'a@b',
  'a b@c.d', 'a@b@c.d', '<a@b.c>', `${'a'.repeat(245)}@example.com`, `${'a'.repeat(243)}@example.com`, '2026-11-25T10:00:00Z',
  '2026-11-25T10:00:00', '2026-11-25 10:00:00Z', '2026-02-30T10:00:00Z', '2026-13-01T00:00:00Z', '2026-11-25T25:00:00Z',
  '2026-11-25T10:00:00.1234567891Z', '2026-11-25T10:00:00+99:99', '2026-11-25T10:00:00-05:00', '2026-11-25t10:00:00z',
  [], [1], ['R-1'], {}, { a: 1 }, { currency: 'USD', value: '1' }, { email: 'a@b.c' },
  // Control characters (C0, DEL) and lone surrogates, where patterns would otherwise let them by.
  'a\u0001b', 'R\u001b', 'x\u001f', 'tab\there', '\ud800', '\udfff', 'a\ud83d', '\ude00😀', 'Zo\u00eb\u007f', 'ja\u0000ne@example.com',
  'ja\u000ene@example.com', 'ja\u007fne@example.com', 'jane@exa\ud800mple.com', 'en\u0000', 'pt-BR\u001f',
  DEEPISH, RAW(nested(40)),
];

function bigMetadata(rng: () => number): Record<string, unknown> {
  // Around the 4096-byte limit, in 1-, 2-, 3- and 4-byte characters.
  const char = ['a', 'é', '€', '😀'][Math.floor(rng() * 4)]!;
  const bytes = Buffer.byteLength(char);
  const target = 4096 - 12 + Math.floor(rng() * 24);
  return { blob: char.repeat(Math.max(0, Math.floor(target / bytes))) };
}

function mutate(base: Record<string, unknown>, rng: () => number): string {
  const doc = structuredClone(base);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const extras: string[] = [];
  const steps = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < steps; i++) {
    const key = pick(KEYS);
    const op = rng();
    const nestedKeys = NESTED[key];
    if (nestedKeys && doc[key] && typeof doc[key] === 'object' && !Array.isArray(doc[key]) && op < 0.4) {
      const inner = doc[key] as Record<string, unknown>;
      const k = pick(nestedKeys);
      if (rng() < 0.2) delete inner[k];
      else inner[k] = pick(POOL);
    } else if (op < 0.15) delete doc[key];
    else if (op < 0.7) doc[key] = pick(POOL);
    else if (op < 0.85 && typeof doc[key] === 'string') {
      const s = doc[key] as string;
      doc[key] = rng() < 0.5 ? s + pick(['', ' ', 'é', '\u0000', '\u0001', '\u001f', '\u007f', '\ud800', '\udc00', '@', '"', 'A', '1']) : s.slice(0, Math.floor(rng() * s.length));
    } else if (key === 'metadata') {
      doc.metadata = pick([
        bigMetadata(rng),
        { a: 1 },
        'meta',
        [{ a: 1 }],
        { toJSON: 'x' },
        // Depth around the limit of 16, and far past it.
        { x: RAW(nested(15)) },
        { x: RAW(nested(16)) },
        { x: [[RAW(nested(14))]] },
        { x: DEEP_OBJECT },
        { x: DEEP_ARRAY },
        // NUL and lone surrogates in keys and values at any depth; other controls are allowed.
        { note: 'a\u0000b' },
        { order: { lines: [{ sku: 'x' }, { sku: '\u0000' }] } },
        { order: { 'k\u0000y': 1 } },
        { '\udc00': 1 },
        { a: [['ok', '\ud83d']] },
        { note: 'tab\t\u0001\u001f\u007f', '\u0001key': 'ok', '😀': '😀' },
      ]);
      if (rng() < 0.3) extras.push(pick(['"__proto__":{"polluted":true}', '"constructor":"x"', '"__proto__":null']));
    } else doc[`unknown${i}`] = pick(POOL);
  }
  let text = JSON.stringify(doc).replace(/"@@RAW:(\d+)@@"/g, (_, i: string) => RAW_TEXTS[Number(i)]!);
  // Keys JSON.stringify cannot write as own keys of metadata: only JSON.parse makes them own.
  if (extras.length > 0 && text.includes('"metadata":{')) {
    const empty = text.includes('"metadata":{}');
    text = text.replace('"metadata":{', `"metadata":{${extras.join(',')}${empty ? '' : ','}`);
  }
  return text;
}

describe('the fast check of the common case', () => {
  it('accepts the common, valid records (so the fast path is actually taken)', () => {
    for (const base of bases) {
      for (const recordTimestamp of STAMPS) {
        const ctx = { ...(base.refundId ? v2 : v1), recordTimestamp };
        expect(acceptCommonCase(JSON.parse(JSON.stringify(base)), ctx), `${JSON.stringify(base)} at ${recordTimestamp}`).toBeDefined();
      }
    }
  });

  it('agrees with the schema on every record of the bad-record table', () => {
    const problems: string[] = [];
    for (const [name, value, headers, , ctx] of badRecords) {
      const decoded = decodeRecord(value, headers);
      if (!decoded.ok) continue;
      for (const c of [ctx ?? v2, v1, { ...v2, recordTimestamp: '-1' }]) {
        const problem = disagreement(decoded.payload, c);
        if (problem) problems.push(`${name} (${c.antomApi}): ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('agrees with the schema on 20,000 randomly broken records', () => {
    const rng = random(20261125);
    const problems: string[] = [];
    let acceptedFast = 0;
    let acceptedBySchema = 0;
    for (let i = 0; i < 20_000 && problems.length < 10; i++) {
      const text = mutate(bases[i % bases.length]!, rng);
      const payload: unknown = JSON.parse(text);
      const recordTimestamp = STAMPS[i % STAMPS.length]!;
      for (const ctx of [{ ...v2, recordTimestamp }, { ...v1, recordTimestamp }]) {
        const problem = disagreement(payload, ctx);
        if (problem) problems.push(`${text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text} (${ctx.antomApi}, ${recordTimestamp}): ${problem}`);
        if (acceptCommonCase(payload, ctx)) acceptedFast += 1;
        if (validateWithSchema(payload, ctx).ok) acceptedBySchema += 1;
      }
    }
    expect(problems).toEqual([]);
    // The mutations must exercise both sides: many records stay valid, many do not.
    expect(acceptedBySchema).toBeGreaterThan(4_000);
    expect(acceptedBySchema).toBeLessThan(36_000);
    // What the fast check leaves to the schema while valid is only the unusual (e.g. a metadata
    // object with a `constructor` key): nearly every valid record takes the fast path.
    expect(acceptedFast / acceptedBySchema).toBeGreaterThan(0.95);
  });

  it('leaves JavaScript values that JSON cannot produce to the schema, or agrees on them', () => {
    const odd: unknown[] = [
      { ...good, refundAmount: { currency: 'USD', value: -0 } },
      { ...good, refundAmount: { currency: 'USD', value: Number.NaN } },
      { ...good, refundAmount: { currency: 'USD', value: Number.POSITIVE_INFINITY } },
      { ...good, metadata: Object.create(null) as object },
      { ...good, metadata: new Map() },
      { ...good, metadata: new Date(0) },
      { ...good, customer: new Date(0) },
      Object.assign(Object.create({ refundId: 'R-inherited' }) as object, { paymentId: 'P-1' }),
      new Date(0),
    ];
    for (const payload of odd) {
      for (const ctx of [v2, v1]) expect(disagreement(payload, ctx)).toBeUndefined();
    }
  });
});

describe('the bound on the JSON size of metadata', () => {
  // Strings of every kind JSON escapes or encodes on several bytes, numbers of every magnitude.
  function value(rng: () => number, depth: number): unknown {
    const r = rng();
    if (r < 0.3 || depth > 3) {
      const units = [0x00, 0x08, 0x1f, 0x22, 0x5c, 0x41, 0x7f, 0xe9, 0x20ac, 0xd83d, 0xde00, 0xd800, 0xdfff, 0xfffd];
      return Array.from({ length: Math.floor(rng() * 40) }, () => String.fromCharCode(units[Math.floor(rng() * units.length)]!)).join('');
    }
    if (r < 0.5) return (rng() - 0.5) * 10 ** Math.floor(rng() * 60 - 30);
    if (r < 0.55) return [true, false, null, 0, -0, Number.MAX_VALUE, Number.MIN_VALUE][Math.floor(rng() * 7)];
    if (r < 0.75) return Array.from({ length: Math.floor(rng() * 5) }, () => value(rng, depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rng() * 5) }, (_, i) => [`${value(rng, 9) as string}${i}`, value(rng, depth + 1)]));
  }

  it('is never below the real size, and decides the common case without serialising', () => {
    const rng = random(4096);
    let decided = 0;
    for (let i = 0; i < 5_000; i++) {
      const v = value(rng, 0);
      const bound = jsonBytesBound(v, 4096, 0);
      if (bound !== Infinity) {
        decided += 1;
        expect(bound).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(v)));
      }
    }
    expect(decided).toBeGreaterThan(4_000);
    expect(jsonBytesBound({ orderId: 'ORD-1', channel: 'web' }, 4096, 0)).toBeLessThan(4096);
  });

  it('leaves to serialisation what is not plain JSON data', () => {
    for (const v of [undefined, () => 1, new Date(0), { toJSON: () => 'x' }, { a: undefined }, [undefined], 10n]) {
      expect(jsonBytesBound(v, 4096, 0)).toBe(Infinity);
    }
  });
});
