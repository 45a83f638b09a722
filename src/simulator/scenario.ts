import { z } from 'zod';

/**
 * What the sandbox plays for one refund: how long it stays pending, how it ends, and which
 * inquiries get a fault instead of a straight answer. Everything has a default, so `{}` is a
 * refund that is already SUCCESS at its first inquiry.
 */
export interface Scenario {
  /** Generated from the seed when absent (Antom assigns it). */
  refundId?: string;
  refundRequestId?: string;
  paymentId?: string;
  refundAmount?: { currency: string; value: string };
  /** How the refund ends; `PENDING` never ends (benchmarks, stalled-refund demos). Default SUCCESS. */
  final?: 'SUCCESS' | 'FAIL' | 'PENDING';
  /** Why a FAIL refund failed: a classic (unprefixed) code; v2 answers get the DPOS_ prefix. */
  failCode?: string;
  /**
   * How an inquiry reports a FAIL refund. `refund-status` (default): result SUCCESS/S with
   * refundStatus FAIL/FAILED and no reason, as the classic API documents (docs/antom.md, "Result
   * codes"). `result-code`: result F with failCode, as the v2 table suggests. notifyRefund always
   * carries the code.
   */
  failureReporting?: 'refund-status' | 'result-code';
  /** The first N inquiries answer PROCESSING / PENDING. Default 0. */
  pendingInquiries?: number;
  /** Pending until this much Antom time has passed since creation (divided by the time scale). */
  pendingMs?: number;
  /** Real milliseconds before each answer: fixed, or [min, max] drawn from the seed. */
  latencyMs?: number | [number, number];
  faults?: FaultRule[];
  /** Push notifyRefund when final (default true, if a notify URL is known). */
  notify?: boolean;
  /** Overrides the sandbox's notify URL for this refund (like refundNotifyUrl). */
  notifyUrl?: string;
  metadata?: string;
}

export type FaultKind =
  /** A non-200 answer from "the gateway": 503 by default, unsigned, HTML body. */
  | 'http-error'
  /** No answer: until the client gives up, or `hangMs` then a normal answer. */
  | 'hang'
  /** Signed U UNKNOWN_EXCEPTION. */
  | 'unknown-exception'
  /** Signed U REQUEST_TRAFFIC_EXCEED_LIMIT. */
  | 'traffic-limit'
  /** Signed answer with `resultCode` / `resultStatus` (e.g. F ACCESS_DENIED). */
  | 'result-code'
  /** The normal answer, without signature headers. */
  | 'unsigned'
  /** An unsigned F/U gateway error: `resultCode` / `resultStatus`, default U UNKNOWN_EXCEPTION. */
  | 'unsigned-error'
  /** The normal answer, signed with a key that is not the sandbox's. */
  | 'forged-signature'
  /** A truncated JSON body, correctly signed. */
  | 'malformed-json';

export interface FaultRule {
  kind: FaultKind;
  /** 1-based inquiry numbers (per refund) this fault answers; absent: every inquiry. */
  inquiries?: number[];
  /** Chance, per matching inquiry, drawn from the seed; absent: always. */
  probability?: number;
  /** http-error: the status (default 503). */
  httpStatus?: number;
  /** http-error: sends Retry-After: <seconds>. */
  retryAfterSeconds?: number;
  /** hang: real ms before answering normally; absent: never answer. */
  hangMs?: number;
  /** result-code / unsigned-error. */
  resultCode?: string;
  resultStatus?: 'F' | 'U';
  resultMessage?: string;
}

const FAULT_KINDS: readonly FaultKind[] = [
  'http-error',
  'hang',
  'unknown-exception',
  'traffic-limit',
  'result-code',
  'unsigned',
  'unsigned-error',
  'forged-signature',
  'malformed-json',
];

const idSchema = z.string().min(1).max(64);

const faultSchema = z
  .object({
    kind: z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]]),
    inquiries: z.array(z.number().int().min(1)).min(1).optional(),
    probability: z.number().min(0).max(1).optional(),
    httpStatus: z.number().int().min(201).max(599).optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    hangMs: z.number().int().min(0).optional(),
    resultCode: z.string().min(1).max(64).optional(),
    resultStatus: z.enum(['F', 'U']).optional(),
    resultMessage: z.string().max(256).optional(),
  })
  .strict()
  .refine((f) => f.kind !== 'result-code' || f.resultCode !== undefined, {
    message: 'a result-code fault needs resultCode',
    path: ['resultCode'],
  });

const scenarioSchema = z
  .object({
    refundId: idSchema.optional(),
    refundRequestId: idSchema.optional(),
    paymentId: idSchema.optional(),
    refundAmount: z
      .object({ currency: z.string().length(3), value: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).transform(String) })
      .optional(),
    final: z.enum(['SUCCESS', 'FAIL', 'PENDING']).optional(),
    failCode: z.string().min(1).max(64).optional(),
    failureReporting: z.enum(['refund-status', 'result-code']).optional(),
    pendingInquiries: z.number().int().min(0).optional(),
    pendingMs: z.number().min(0).optional(),
    latencyMs: z
      .union([z.number().min(0), z.tuple([z.number().min(0), z.number().min(0)])])
      .optional()
      .refine((l) => !Array.isArray(l) || l[0] <= l[1], 'latencyMs [min, max] needs min <= max'),
    faults: z.array(faultSchema).optional(),
    notify: z.boolean().optional(),
    notifyUrl: z.url().optional(),
    metadata: z.string().max(2048).optional(),
  })
  .strict();

/** Validates a scenario from the admin API or the command line; problems as `path: message`. */
export function parseScenario(input: unknown): { ok: true; scenario: Scenario } | { ok: false; problems: string[] } {
  const parsed = scenarioSchema.safeParse(input);
  if (parsed.success) return { ok: true, scenario: parsed.data as Scenario };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`),
  };
}

/**
 * The codes the sandbox can answer with: the classic name, Antom's message, and the v2 name.
 * v2 prefixes follow docs/antom.md, "Result codes"; for rows 13–20 the prefix is a guess there.
 */
const CODES: Readonly<Record<string, { message: string; v2: string }>> = {
  SUCCESS: { message: 'success', v2: 'SUCCESS' },
  ACCESS_DENIED: { message: 'Access is denied', v2: 'DPOS_PAYMENT_ACCESS_DENIED' },
  CURRENCY_NOT_SUPPORT: { message: 'The currency is not supported', v2: 'DPOS_PAYMENT_CURRENCY_NOT_SUPPORT' },
  INVALID_MERCHANT_STATUS: {
    message: 'The merchant status is abnormal because restrictions exist',
    v2: 'DPOS_PAYMENT_INVALID_MERCHANT_STATUS',
  },
  ORDER_NOT_EXIST: { message: 'The order does not exist', v2: 'DPOS_PAYMENT_ORDER_NOT_EXIST' },
  ORDER_STATUS_INVALID: { message: 'The order status is invalid', v2: 'DPOS_PAYMENT_ORDER_STATUS_INVALID' },
  REPEAT_REQ_INCONSISTENT: {
    message: 'Amount or currency is different from the previous request',
    v2: 'DPOS_PAYMENT_REPEAT_REQ_INCONSISTENT',
  },
  RISK_REJECT: { message: 'Rejected because of risk control', v2: 'DPOS_PAYMENT_RISK_REJECT' },
  ORDER_IS_CANCELED: { message: 'The transaction is canceled', v2: 'DPOS_PAYMENT_ORDER_IS_CANCELED' },
  ORDER_IS_CLOSED: { message: 'The order is closed', v2: 'DPOS_PAYMENT_ORDER_IS_CLOSED' },
  SYSTEM_ERROR: { message: 'A system error occurred', v2: 'DPOS_SYSTEM_ERROR' },
  KEY_NOT_FOUND: { message: 'Private/public key not found', v2: 'DPOS_REFUND_KEY_NOT_FOUND' },
  MERCHANT_BALANCE_NOT_ENOUGH: { message: 'Merchant balance is insufficient', v2: 'DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH' },
  MULTIPLE_REFUNDS_NOT_SUPPORTED: {
    message: 'Multiple refunds are not supported',
    v2: 'DPOS_REFUND_MULTIPLE_REFUNDS_NOT_SUPPORTED',
  },
  NO_INTERFACE_DEF: { message: 'API is not defined', v2: 'DPOS_NO_INTERFACE_DEF' },
  API_INVALID: { message: 'The called API is invalid or not active', v2: 'DPOS_API_INVALID' },
  PROCESS_FAIL: { message: 'A general business failure occurred', v2: 'DPOS_PROCESS_FAIL' },
  REFUND_AMOUNT_EXCEED: {
    message: 'The total refund amount exceeds the payment amount',
    v2: 'DPOS_REFUND_REFUND_AMOUNT_EXCEED',
  },
  REFUND_WINDOW_EXCEED: { message: 'The refund date exceeds the refundable period', v2: 'DPOS_REFUND_REFUND_WINDOW_EXCEED' },
  REQUEST_TRAFFIC_EXCEED_LIMIT: { message: 'Request traffic exceeds the limit', v2: 'DPOS_REQUEST_TRAFFIC_EXCEED_LIMIT' },
  UNKNOWN_EXCEPTION: { message: 'unknown exception', v2: 'DPOS_UNKNOWN_EXCEPTION' },
  PARAM_ILLEGAL: { message: 'Illegal parameters', v2: 'DPOS_PARAM_ILLEGAL' },
  INVALID_SIGNATURE: { message: 'The signature is invalid', v2: 'DPOS_INVALID_SIGNATURE' },
  CLIENT_INVALID: { message: 'The client is invalid', v2: 'DPOS_CLIENT_INVALID' },
  MEDIA_TYPE_NOT_ACCEPTABLE: { message: 'The media type is not acceptable', v2: 'DPOS_MEDIA_TYPE_NOT_ACCEPTABLE' },
  METHOD_NOT_SUPPORTED: { message: 'The HTTP method is not supported', v2: 'DPOS_METHOD_NOT_SUPPORTED' },
};

export type SandboxApi = 'v1' | 'v2';

/** A code as the given flavour spells it; a code the sandbox does not know gets `DPOS_` on v2. */
export function codeFor(api: SandboxApi, code: string): string {
  if (api === 'v1') return code;
  if (code.startsWith('DPOS_')) return code;
  return CODES[code]?.v2 ?? `DPOS_${code}`;
}

export function messageFor(code: string): string {
  const bare = code.replace(/^DPOS_(PAYMENT_|REFUND_)?/, '');
  return CODES[bare]?.message ?? CODES[code]?.message ?? 'Business failed';
}

/**
 * v1 spells the statuses SUCCESS / PROCESSING / FAIL; v2 SUCCESS / PENDING / FAILED (docs/antom.md,
 * "Two APIs called inquiryRefund").
 */
export function refundStatusFor(api: SandboxApi, status: 'PROCESSING' | 'SUCCESS' | 'FAIL'): string {
  if (api === 'v1') return status;
  return status === 'PROCESSING' ? 'PENDING' : status === 'FAIL' ? 'FAILED' : 'SUCCESS';
}

/**
 * The fault (if any) for inquiry `n` of a refund: the first rule that matches. `draw` gives the
 * seeded chance for (rule index, n), so the choice is the same on every run with the same seed.
 */
export function pickFault(
  faults: readonly FaultRule[] | undefined,
  n: number,
  draw: (ruleIndex: number) => number,
): FaultRule | undefined {
  if (!faults) return undefined;
  for (const [index, rule] of faults.entries()) {
    if (rule.inquiries !== undefined && !rule.inquiries.includes(n)) continue;
    if (rule.probability !== undefined && draw(index) >= rule.probability) continue;
    return rule;
  }
  return undefined;
}
