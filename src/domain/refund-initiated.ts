import { z } from 'zod';
import { trackingKey, type NewRefund, type RecordOrigin } from './refund.js';

/**
 * The refund-initiated payload of the contract (CONTRACT.md, "Input"). Unknown fields are
 * ignored so producers can add fields without breaking us; known fields are checked strictly
 * (no coercion of a number into an id), because a wrong type usually means a producer bug that
 * should be seen in the dead-letter topic, not papered over.
 */

export const ID_MAX = 64;
export const METADATA_MAX_BYTES = 4096;

// Printable ASCII without spaces: Antom ids are alphanumeric; this rules out the characters that
// would corrupt logs, headers or Slack markup while accepting every id format seen in practice.
const ID_PATTERN = /^[\x21-\x7E]+$/;
const EMAIL = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$/;
// RFC 3339 date-time (the ISO-8601 profile CloudEvents and Antom use), offset required.
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const id = (what: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .min(1, `${what} must not be empty`)
    .max(ID_MAX, `${what} is longer than ${ID_MAX} characters`)
    .regex(ID_PATTERN, `${what} must be printable ASCII without spaces`);

const text = (what: string, max: number) =>
  z.string({ error: `${what} must be a string` }).max(max, `${what} is longer than ${max} characters`);

const amountValue = z.union(
  [
    z.string().regex(/^\d{1,18}$/, 'refundAmount.value must be a whole number of minor units, e.g. "1250"'),
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
      .regex(/^[A-Z]{3}$/, 'refundAmount.currency must be an ISO 4217 code such as USD'),
    value: amountValue,
  },
  { error: 'refundAmount must be an object { currency, value }' },
);

const customer = z.object(
  {
    email: z
      .string({ error: 'customer.email must be a string' })
      .max(254, 'customer.email is longer than 254 characters')
      .regex(EMAIL, 'customer.email is not an email address')
      .optional(),
    name: text('customer.name', 256).optional(),
    locale: z
      .string({ error: 'customer.locale must be a string' })
      .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'customer.locale must be a language tag such as en or pt-BR')
      .optional(),
  },
  { error: 'customer must be an object { email, name, locale }' },
);

const metadata = z
  .record(z.string(), z.unknown(), { error: 'metadata must be a JSON object' })
  .refine((m) => fitsUtf8(JSON.stringify(m), METADATA_MAX_BYTES), {
    message: `metadata is larger than ${METADATA_MAX_BYTES} bytes of JSON`,
  })
  .describe(`a JSON object of at most ${METADATA_MAX_BYTES} bytes (as UTF-8 JSON), echoed on the outcome event`);

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
  paymentMethodType: text('paymentMethodType', 64).optional(),
  refundReason: text('refundReason', 256).optional(),
  customer: customer.optional().describe('without an email no customer email is sent'),
  initiatedAt: z
    .string({ error: 'initiatedAt must be a string' })
    .regex(ISO_DATETIME, 'initiatedAt must be an ISO-8601 date-time with an offset, e.g. 2026-11-25T10:00:00Z')
    .refine((s) => !Number.isNaN(Date.parse(s)), 'initiatedAt is not a real date')
    .optional()
    .describe("ISO-8601 with an offset; defaults to the record's timestamp"),
  metadata: metadata.optional(),
});

export type RefundInitiatedPayload = z.infer<typeof refundInitiatedSchema>;

export interface ValidationContext {
  /** v2 queries by refundId only; v1 accepts refundId or refundRequestId. */
  readonly antomApi: 'v1' | 'v2';
  /** The record's own timestamp (epoch ms), the default for `initiatedAt`. */
  readonly recordTimestamp: number;
  readonly origin: RecordOrigin;
}

export type ValidationResult = { ok: true; refund: NewRefund } | { ok: false; problems: string[] };

/** Validates a decoded payload against the contract and builds the refund to track. */
export function validateRefundInitiated(payload: unknown, ctx: ValidationContext): ValidationResult {
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
  const initiatedAt = p.initiatedAt ?? new Date(ctx.recordTimestamp).toISOString();
  const refund: NewRefund = {
    id: trackingKey(p),
    refundId: p.refundId,
    refundRequestId: p.refundRequestId,
    paymentId: p.paymentId,
    refundAmount: p.refundAmount ? { currency: p.refundAmount.currency, value: String(p.refundAmount.value) } : undefined,
    merchantAccountId: p.merchantAccountId,
    paymentMethodType: p.paymentMethodType,
    refundReason: p.refundReason,
    customer: p.customer && (p.customer.email || p.customer.name || p.customer.locale) ? p.customer : undefined,
    initiatedAt,
    metadata: p.metadata,
    origin: ctx.origin,
  };
  return { ok: true, refund };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
