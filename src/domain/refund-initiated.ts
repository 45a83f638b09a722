import { z } from 'zod';
import { EMAIL_ADDRESS } from './email-address.js';
import { codePointName, findJsonShapeProblem, formatJsonPath } from './json-shape.js';
import { trackingKey, type Customer, type Money, type NewRefund, type RecordOrigin } from './refund.js';

/**
 * The refund-initiated payload of the contract (docs/ingest.md). Unknown fields are
 * ignored so producers can add fields without breaking us; known fields are checked strictly
 * (no coercion of a number into an id), because a wrong type usually means a producer bug that
 * should be seen in the dead-letter topic, not papered over.
 */

const ID_MAX = 64;
const METADATA_MAX_BYTES = 4096;
// Metadata is the producer's free JSON, stored as jsonb and echoed on the outcome event. What is
// seen in practice nests 1 to 3 levels (an order id, a channel, a list of lines); 16 is five times
// that, room for any honest producer, and it holds everything that later serialises or walks
// metadata recursively (JSON.stringify below, the store, the logger, the outcome event) to a few
// frames, where thousands of levels overflow the stack. Within 4096 bytes, deeper would be mostly
// brackets anyway.
export const METADATA_MAX_DEPTH = 16;

// Printable ASCII without spaces: Antom ids are alphanumeric; this rules out the characters that
// would corrupt logs, headers or Slack markup while accepting every id format seen in practice.
const ID_PATTERN = /^[\x21-\x7E]+$/;
const EMAIL = EMAIL_ADDRESS;
// What no text field may hold: C0 controls and DEL (U+0000-U+001F, U+007F), which corrupt logs,
// mail headers and Slack markup, and which PostgreSQL refuses (NUL) in text; and lone surrogates,
// which are not well-formed Unicode and cannot be stored as UTF-8. With the `u` flag a surrogate
// pair is one code point, so the range D800-DFFF matches lone halves only. EMAIL and the free text
// fields let these through on their own (EMAIL excludes only \s, i.e. U+0009-U+000D and spaces).
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_TEXT = /[\0-\x1F\x7F\uD800-\uDFFF]/u;
// RFC 3339 date-time (the ISO-8601 profile CloudEvents and Antom use), offset required.
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const CURRENCY = /^[A-Z]{3}$/;
const MINOR_UNITS = /^\d{1,18}$/;
const LOCALE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/;
const EMAIL_MAX = 254;
const NAME_MAX = 256;
const PAYMENT_METHOD_MAX = 64;
const REASON_MAX = 256;

const id = (what: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .min(1, `${what} must not be empty`)
    .max(ID_MAX, `${what} is longer than ${ID_MAX} characters`)
    .regex(ID_PATTERN, `${what} must be printable ASCII without spaces`);

const text = (what: string, max: number) =>
  z.string({ error: `${what} must be a string` }).max(max, `${what} is longer than ${max} characters`).superRefine(safeText(what));

/** The check of UNSAFE_TEXT, with a reason naming the field and the code point. */
function safeText(what: string) {
  return (value: string, ctx: z.RefinementCtx) => {
    const problem = unsafeTextProblem(what, value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  };
}

function unsafeTextProblem(what: string, value: string): string | undefined {
  const found = UNSAFE_TEXT.exec(value);
  if (!found) return undefined;
  const codePoint = found[0].codePointAt(0)!;
  return codePoint >= 0xd800
    ? `${what} contains a lone surrogate (${codePointName(codePoint)}), which is not well-formed Unicode`
    : `${what} contains a control character (${codePointName(codePoint)})`;
}

const amountValue = z.union(
  [
    z.string().regex(MINOR_UNITS, 'refundAmount.value must be a whole number of minor units, e.g. "1250"'),
    z
      .number()
      .int('refundAmount.value must be a whole number of minor units')
      .nonnegative('refundAmount.value must not be negative')
      .max(Number.MAX_SAFE_INTEGER, 'refundAmount.value is too large'),
  ],
  { error: 'refundAmount.value must be a string or an integer of minor units' },
);

const money = z.object(
  {
    currency: z
      .string({ error: 'refundAmount.currency must be a string' })
      .regex(CURRENCY, 'refundAmount.currency must be an ISO 4217 code such as USD'),
    value: amountValue,
  },
  { error: 'refundAmount must be an object { currency, value }' },
);

const customer = z.object(
  {
    email: z
      .string({ error: 'customer.email must be a string' })
      .max(EMAIL_MAX, `customer.email is longer than ${EMAIL_MAX} characters`)
      .regex(EMAIL, 'customer.email is not an email address')
      .superRefine(safeText('customer.email'))
      .optional(),
    name: text('customer.name', NAME_MAX).optional(),
    locale: z
      .string({ error: 'customer.locale must be a string' })
      .regex(LOCALE, 'customer.locale must be a language tag such as en or pt-BR')
      .superRefine(safeText('customer.locale'))
      .optional(),
  },
  { error: 'customer must be an object { email, name, locale }' },
);

const metadata = z
  .record(z.string(), z.unknown(), { error: 'metadata must be a JSON object' })
  .superRefine((m, ctx) => {
    const problem = metadataProblem(m);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(
    `a JSON object of at most ${METADATA_MAX_BYTES} bytes (as UTF-8 JSON) and ${METADATA_MAX_DEPTH} levels of nesting, without NUL characters or lone surrogates, echoed on the outcome event`,
  );

/**
 * Why metadata cannot be tracked, or undefined. Its shape is checked first, by an iterative walk
 * that stops past METADATA_MAX_DEPTH: only then is it safe to serialise for the size check (the
 * same walk finds what PostgreSQL cannot store: NUL anywhere, and lone surrogates; other controls
 * are escaped in JSON and stored as they are). Runs per record: for small flat metadata, one
 * regex test per key and string.
 */
function metadataProblem(m: Record<string, unknown>): string | undefined {
  const shape = findJsonShapeProblem(m, METADATA_MAX_DEPTH, true);
  if (shape?.kind === 'too-deep') return `metadata nests deeper than ${METADATA_MAX_DEPTH} levels`;
  if (shape) {
    const where = formatJsonPath('metadata', shape.path);
    return shape.codePoint === 0
      ? `${shape.inKey ? `the key ${where}` : where} contains a NUL character (U+0000), which PostgreSQL cannot store`
      : `${shape.inKey ? `the key ${where}` : where} contains a lone surrogate (${codePointName(shape.codePoint)}), which is not well-formed Unicode`;
  }
  // Serialising typical metadata costs ~0.5 µs a record, and the store serialises it again to
  // write it; the bound costs a tenth of that and settles all but metadata close to the limit.
  if (jsonBytesBound(m, METADATA_MAX_BYTES, 0) <= METADATA_MAX_BYTES) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(m);
  } catch (err) {
    // Only a JavaScript caller can get here (a BigInt, a toJSON that throws); JSON data cannot.
    return `metadata cannot be serialised as JSON (${err instanceof Error ? err.message : 'it threw'})`;
  }
  if (typeof json !== 'string') return 'metadata cannot be serialised as JSON';
  return fitsUtf8(json, METADATA_MAX_BYTES) ? undefined : `metadata is larger than ${METADATA_MAX_BYTES} bytes of JSON`;
}

/**
 * An upper bound of the UTF-8 bytes of `JSON.stringify(value)`, without serialising: a UTF-16
 * unit of a string is at most 6 bytes of JSON (`\u001f`, a lone surrogate; a pair is 4 bytes for 2
 * units), a number at most 25 characters (`-0.0000012345678901234567`). Returns Infinity, i.e.
 * "measure it", past `budget` or for anything but plain JSON data (undefined, functions, class
 * instances, toJSON methods, deep nesting). It recurses, but never past depth 9 whatever the value.
 */
export function jsonBytesBound(value: unknown, budget: number, depth: number): number {
  if (typeof value === 'string') return 6 * value.length + 2;
  if (typeof value === 'number') return 25;
  if (typeof value === 'boolean' || value === null) return 5;
  if (typeof value !== 'object' || depth > 8) return Infinity;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return Infinity;
  let bytes = 2;
  if (Array.isArray(value)) {
    for (const item of value) {
      bytes += jsonBytesBound(item, budget - bytes, depth + 1) + 1;
      if (bytes > budget) return Infinity;
    }
    return bytes;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return Infinity;
  for (const key of Object.keys(value)) {
    bytes += 6 * key.length + 4 + jsonBytesBound((value as Record<string, unknown>)[key], budget - bytes, depth + 1);
    if (bytes > budget) return Infinity;
  }
  return bytes;
}

/** Whether `text` is at most `maxBytes` in UTF-8, without allocating the bytes (runs per record). */
export function fitsUtf8(text: string, maxBytes: number): boolean {
  // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units), so a
  // short string needs no counting at all: the common case costs one comparison.
  if (text.length * 3 <= maxBytes) return true;
  if (text.length > maxBytes) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes <= maxBytes;
}

export const refundInitiatedSchema = z.object({
  refundId: id('refundId').optional().describe("Antom's refund id; required when ANTOM_API is v2"),
  refundRequestId: id('refundRequestId').optional().describe("the merchant's refund request id; with ANTOM_API v1, refundId or refundRequestId is required"),
  paymentId: id('paymentId').describe("Antom's id of the original payment"),
  refundAmount: money.optional().describe('value in minor units of the currency'),
  merchantAccountId: id('merchantAccountId').optional(),
  paymentMethodType: text('paymentMethodType', PAYMENT_METHOD_MAX).optional(),
  refundReason: text('refundReason', REASON_MAX).optional(),
  customer: customer.optional().describe('without an email no customer email is sent'),
  initiatedAt: z
    .string({ error: 'initiatedAt must be a string' })
    .regex(ISO_DATETIME, 'initiatedAt must be an ISO-8601 date-time with an offset, e.g. 2026-11-25T10:00:00Z')
    .refine((s) => !Number.isNaN(Date.parse(s)), 'initiatedAt is not a real date')
    .optional()
    .describe("ISO-8601 with an offset; defaults to the record's timestamp, or to the time of consumption when that timestamp is unusable"),
  metadata: metadata.optional(),
});

export type RefundInitiatedPayload = z.infer<typeof refundInitiatedSchema>;

export interface ValidationContext {
  /** v2 queries by refundId only; v1 accepts refundId or refundRequestId. */
  readonly antomApi: 'v1' | 'v2';
  /**
   * The record's Kafka timestamp as received (kafkajs: epoch ms as a decimal string, "-1" for
   * none), the default for `initiatedAt` when it is a plausible time (see `defaultInitiatedAt`).
   */
  readonly recordTimestamp: string;
  /** When the record was consumed (epoch ms): the default for `initiatedAt` when the timestamp is not usable. */
  readonly consumedAt: number;
  readonly origin: RecordOrigin;
}

export type ValidationResult = { ok: true; refund: NewRefund } | { ok: false; problems: string[] };

/**
 * Validates a decoded payload against the contract and builds the refund to track. The common,
 * valid record takes the fast check below; anything else goes through the schema, which decides
 * and words the reasons.
 */
export function validateRefundInitiated(payload: unknown, ctx: ValidationContext): ValidationResult {
  const refund = acceptCommonCase(payload, ctx);
  return refund ? { ok: true, refund } : validateWithSchema(payload, ctx);
}

/** The schema alone: the definition of what is valid, and of the reasons when it is not. */
export function validateWithSchema(payload: unknown, ctx: ValidationContext): ValidationResult {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return { ok: false, problems: [`the refund must be a JSON object, got ${describe(payload)}`] };
  }
  const parsed = refundInitiatedSchema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => i.message);
    return { ok: false, problems: [...new Set(problems)] };
  }
  const p = parsed.data;
  if (ctx.antomApi === 'v2' && !p.refundId) {
    return { ok: false, problems: ['refundId is required (ANTOM_API is v2, which inquires by refundId only)'] };
  }
  if (!p.refundId && !p.refundRequestId) {
    return { ok: false, problems: ['refundId or refundRequestId is required'] };
  }
  return { ok: true, refund: toNewRefund(p, ctx) };
}

function toNewRefund(p: RefundInitiatedPayload, ctx: ValidationContext): NewRefund {
  const when = p.initiatedAt === undefined ? defaultInitiatedAt(ctx) : { initiatedAt: p.initiatedAt, origin: ctx.origin };
  return {
    id: trackingKey(p),
    refundId: p.refundId,
    refundRequestId: p.refundRequestId,
    paymentId: p.paymentId,
    refundAmount: p.refundAmount ? { currency: p.refundAmount.currency, value: String(p.refundAmount.value) } : undefined,
    merchantAccountId: p.merchantAccountId,
    paymentMethodType: p.paymentMethodType,
    refundReason: p.refundReason,
    customer: p.customer && (p.customer.email || p.customer.name || p.customer.locale) ? p.customer : undefined,
    initiatedAt: when.initiatedAt,
    metadata: p.metadata,
    origin: when.origin,
  };
}

// How far ahead of our clock a producer's may run. A day is far more skew than any broker or
// producer clock shows, while a producer that writes microseconds (x1,000) or nanoseconds
// (x1,000,000) into the millisecond field lands decades to millennia ahead and is caught.
const TIMESTAMP_AHEAD_MAX_MS = 24 * 60 * 60 * 1000;
const WHOLE_NUMBER = /^\d+$/;
const SHOWN_AS_IS = /^[-\d]{1,32}$/;

/**
 * The `initiatedAt` of a record that does not carry one: its Kafka timestamp, when that is a
 * plausible epoch-millisecond time; otherwise the time of consumption, with the timestamp and the
 * reason recorded in the origin for the timeline. A usable timestamp leaves the origin untouched.
 * Never throws for any timestamp (`new Date(x).toISOString()` throws outside ±8.64e15 ms); the
 * context's `consumedAt` must be a real time.
 */
function defaultInitiatedAt(ctx: ValidationContext): { initiatedAt: string; origin: RecordOrigin } {
  const raw = ctx.recordTimestamp;
  if (WHOLE_NUMBER.test(raw)) {
    const at = Number(raw);
    if (at <= ctx.consumedAt + TIMESTAMP_AHEAD_MAX_MS) return { initiatedAt: new Date(at).toISOString(), origin: ctx.origin };
  }
  // What is recorded must itself be storable and short, whatever the caller passed.
  const shown = SHOWN_AS_IS.test(raw) ? raw : JSON.stringify(raw.length > 32 ? `${raw.slice(0, 32)}…` : raw).slice(1, -1);
  let why: string;
  if (WHOLE_NUMBER.test(raw)) {
    why = `record timestamp ${shown} is not a plausible epoch-millisecond time (it is more than a day after the time of consumption)`;
  } else if (raw === '-1') why = 'the record has no timestamp (-1)';
  else if (/^-\d+$/.test(raw)) why = `record timestamp ${shown} is negative`;
  else why = `record timestamp "${shown}" is not a whole number of epoch milliseconds`;
  return {
    initiatedAt: new Date(ctx.consumedAt).toISOString(),
    origin: { ...ctx.origin, recordTimestamp: shown, timestampNote: `${why}; the time of consumption was used` },
  };
}

/**
 * The same rules as the schema, checked by hand for a record that passes them all: ~2.5 µs a
 * record where the schema takes ~7 µs, on the ingest's busiest thread (docs/performance.md,
 * "Ingest"). It returns what the schema would return, or `undefined` whenever
 * anything is off or merely unusual, and then the schema decides. So it may only ever accept less
 * than the schema, never more; test/unit/refund-initiated-fast.test.ts holds it to that over the
 * table of bad records and over many randomly broken ones. A rule changed in the schema must be
 * changed here too (the patterns and limits are shared; the test is there to catch a rule
 * forgotten here).
 */
export function acceptCommonCase(payload: unknown, ctx: ValidationContext): NewRefund | undefined {
  if (!isObject(payload)) return undefined;
  const { refundId, refundRequestId, paymentId, refundAmount, merchantAccountId, paymentMethodType, refundReason, customer, initiatedAt, metadata } =
    payload as Record<string, unknown>;
  if (!isId(paymentId)) return undefined;
  if (refundId !== undefined && !isId(refundId)) return undefined;
  if (refundRequestId !== undefined && !isId(refundRequestId)) return undefined;
  if (ctx.antomApi === 'v2' ? refundId === undefined : refundId === undefined && refundRequestId === undefined) return undefined;
  if (merchantAccountId !== undefined && !isId(merchantAccountId)) return undefined;
  if (paymentMethodType !== undefined && !isText(paymentMethodType, PAYMENT_METHOD_MAX)) return undefined;
  if (refundReason !== undefined && !isText(refundReason, REASON_MAX)) return undefined;
  if (initiatedAt !== undefined && !(typeof initiatedAt === 'string' && ISO_DATETIME.test(initiatedAt) && !Number.isNaN(Date.parse(initiatedAt)))) {
    return undefined;
  }

  let amount: Money | undefined;
  if (refundAmount !== undefined) {
    if (!isObject(refundAmount)) return undefined;
    const { currency, value } = refundAmount as Record<string, unknown>;
    if (typeof currency !== 'string' || !CURRENCY.test(currency)) return undefined;
    if (typeof value === 'string') {
      if (!MINOR_UNITS.test(value)) return undefined;
    } else if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) return undefined;
    amount = { currency, value: String(value) };
  }

  let who: Customer | undefined;
  if (customer !== undefined) {
    if (!isObject(customer)) return undefined;
    const { email, name, locale } = customer as Record<string, unknown>;
    if (email !== undefined && !(typeof email === 'string' && email.length <= EMAIL_MAX && EMAIL.test(email) && !UNSAFE_TEXT.test(email))) {
      return undefined;
    }
    // LOCALE admits ASCII letters, digits, - and _ only: no control character passes it.
    if (name !== undefined && !isText(name, NAME_MAX)) return undefined;
    if (locale !== undefined && !(typeof locale === 'string' && LOCALE.test(locale))) return undefined;
    // The schema's output: a new object with the known keys that are present, in schema order.
    if (email || name || locale) {
      const c: { email?: string; name?: string; locale?: string } = {};
      if (email !== undefined) c.email = email;
      if (name !== undefined) c.name = name;
      if (locale !== undefined) c.locale = locale;
      who = c;
    }
  }

  // The schema copies a record key by key and drops a `__proto__` key; the plain object it would
  // copy is used as it is, and a payload that would not copy to an equal object is left to it.
  if (metadata !== undefined) {
    if (!isObject(metadata) || Object.getPrototypeOf(metadata) !== Object.prototype) return undefined;
    if (Object.hasOwn(metadata, '__proto__') || Object.hasOwn(metadata, 'constructor')) return undefined;
    if (metadataProblem(metadata as Record<string, unknown>) !== undefined) return undefined;
  }

  const when = initiatedAt === undefined ? defaultInitiatedAt(ctx) : { initiatedAt: initiatedAt as string, origin: ctx.origin };

  return {
    id: trackingKey({ refundId: refundId as string | undefined, refundRequestId: refundRequestId as string | undefined }),
    refundId: refundId as string | undefined,
    refundRequestId: refundRequestId as string | undefined,
    paymentId: paymentId as string,
    refundAmount: amount,
    merchantAccountId: merchantAccountId as string | undefined,
    paymentMethodType: paymentMethodType as string | undefined,
    refundReason: refundReason as string | undefined,
    customer: who,
    initiatedAt: when.initiatedAt,
    metadata: metadata as Record<string, unknown> | undefined,
    origin: when.origin,
  };
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= ID_MAX && ID_PATTERN.test(value);
}

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max && !UNSAFE_TEXT.test(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
