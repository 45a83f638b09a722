import type { AntomAmount, InquiryOutcome, RefundNotification, ResultStatus } from './inquiry.js';
import { lookupResultCode, resolveResultCode, type ResultCodeRule, type ResultCodeTable } from './result-codes.js';

/**
 * What the service does next with a refund after one inquiry (or one notification).
 *
 * Only `completed` and `failed` are outcomes. `not-found` never becomes `failed`: past the
 * caller's grace window (our records can be ahead of Antom's) the refund is stalled and escalated
 * instead (docs/antom.md, "What an answer means"). Everything else keeps the refund pending.
 */
export type Classification =
  | {
      readonly kind: 'completed';
      readonly refundStatus: string;
      readonly resultCode: string;
      readonly resultMessage: string;
      readonly refundTime?: string;
      readonly refundId?: string;
      readonly refundRequestId?: string;
      readonly paymentId?: string;
      readonly refundAmount?: AntomAmount;
      readonly grossSettlementAmount?: AntomAmount;
      readonly settlementQuote?: Readonly<Record<string, unknown>>;
      readonly arn?: string;
    }
  | {
      readonly kind: 'failed';
      /** Normalised, e.g. `MERCHANT_BALANCE_NOT_ENOUGH`; `REFUND_FAILED` when Antom gave no reason. */
      readonly reasonCode: string;
      /** As Antom sent them. */
      readonly resultCode: string;
      readonly resultMessage: string;
      readonly escalate: boolean;
      readonly playbook?: string;
      readonly refundStatus?: string;
      /**
       * Set for a failure read from an F *result* (e.g. RISK_REJECT): such an answer names no
       * refund, so one captured answer could fail any refund. The decision asks again and
       * finalises only when a later signed answer says the same. `respondedAt` is the signed
       * response-time of this answer.
       */
      readonly unconfirmed?: { readonly respondedAt: number };
    }
  | { readonly kind: 'pending'; readonly refundStatus: string }
  | {
      readonly kind: 'retry';
      readonly reason: string;
      /** Slow the whole instance down, not just this refund (traffic limits). */
      readonly slowDown: boolean;
      readonly retryAfterMs?: number;
      /** Tell operations: a code or status the table does not know. */
      readonly alert: boolean;
      /** The unknown normalised code or refund status, so the caller can alert once per code. */
      readonly unknownCode?: string;
      readonly resultCode?: string;
      readonly resultMessage?: string;
    }
  | {
      readonly kind: 'integration-fault';
      readonly reasonCode: string;
      readonly message: string;
      readonly resultCode?: string;
      readonly resultMessage?: string;
      readonly playbook?: string;
    }
  | {
      readonly kind: 'not-found';
      readonly reasonCode: string;
      readonly resultCode: string;
      readonly resultMessage: string;
      readonly playbook?: string;
    };

/**
 * The reason code of a failed refund whose answer carried no reason: an inquiry that succeeded
 * (result SUCCESS) about a refund that failed. The reason is in notifyRefund or the Dashboard.
 */
const REFUND_FAILED_WITHOUT_REASON = 'REFUND_FAILED';

/** Synthetic reason codes for answers rejected before their content was believed. */
const REJECTED_ANSWER_CODES = {
  'missing-signature': 'RESPONSE_SIGNATURE_MISSING',
  'incomplete-signature-headers': 'RESPONSE_SIGNATURE_MISSING',
  'bad-signature': 'RESPONSE_SIGNATURE_INVALID',
  'mismatched-refund': 'RESPONSE_REFUND_MISMATCH',
  'unbound-answer': 'RESPONSE_REFUND_MISMATCH',
  'wrong-client': 'RESPONSE_CLIENT_MISMATCH',
  'stale-answer': 'RESPONSE_TOO_OLD',
} as const;

const REJECTED_ANSWER_PLAYBOOKS: Record<keyof typeof REJECTED_ANSWER_CODES, string> = {
  'missing-signature':
    'Check that ANTOM_PUBLIC_KEY is the Antom public key of this client id (Dashboard > Developer > Keys); if it is, something between us and Antom alters answers.',
  'incomplete-signature-headers':
    'Check that ANTOM_PUBLIC_KEY is the Antom public key of this client id (Dashboard > Developer > Keys); if it is, something between us and Antom alters answers.',
  'bad-signature':
    'Check that ANTOM_PUBLIC_KEY is the Antom public key of this client id (Dashboard > Developer > Keys); during a key rotation set the new one as ANTOM_PUBLIC_KEY_NEXT. If the keys are right, something between us and Antom alters answers.',
  'mismatched-refund':
    'Antom answered about another refund than the one asked: something between us and Antom mixes answers up (a caching proxy?). Check ANTOM_BASE_URL and what sits in front of it.',
  'unbound-answer':
    'Antom answered success without naming the refund asked about: something between us and Antom alters answers, or ANTOM_API names the wrong flavour. Check ANTOM_API and ANTOM_BASE_URL.',
  'wrong-client':
    'The answer is signed for another client id than ANTOM_CLIENT_ID: check ANTOM_CLIENT_ID and ANTOM_BASE_URL (sandbox against production, or another merchant\'s gateway), and what sits in front of Antom.',
  'stale-answer':
    'The answer was signed too long ago (or ahead of our clock): check this host\'s clock (NTP); if it is right, answers are being replayed between us and Antom. ANTOM_RESPONSE_MAX_AGE sets the window.',
};

// Both flavours' spellings are accepted whichever API is configured: a FAIL from a v2 endpoint
// still means failed, and rejecting it would only hold a final refund back.
const COMPLETED_STATUSES = new Set(['SUCCESS']);
const FAILED_STATUSES = new Set(['FAIL', 'FAILED']);
const PENDING_STATUSES = new Set(['PROCESSING', 'PENDING']);

export function classifyInquiry(outcome: InquiryOutcome, table: ResultCodeTable): Classification {
  switch (outcome.kind) {
    case 'transport-error':
      return {
        kind: 'retry',
        reason: outcome.message,
        // A 429 is a traffic limit by another name: the whole instance should slow down.
        slowDown: outcome.httpStatus === 429,
        alert: false,
        retryAfterMs: outcome.retryAfterMs,
      };

    case 'rejected':
      // Never a status. Every answer being rejected usually means ANTOM_PUBLIC_KEY is wrong, which
      // is our side's fault: keep the refund pending, alert, slow down.
      return {
        kind: 'integration-fault',
        reasonCode: REJECTED_ANSWER_CODES[outcome.reason],
        message: outcome.message,
        playbook: REJECTED_ANSWER_PLAYBOOKS[outcome.reason],
      };

    case 'unsigned-answer': {
      const { result } = outcome;
      const { code, rule } = resolveResultCode(table, result.resultCode);
      // An unsigned answer is never a refund outcome. An F answer that blames our integration is
      // still worth surfacing as one: it is what a wrong key or client id looks like from here.
      if (result.resultStatus === 'F' && rule?.outcome === 'integration-fault') {
        return integrationFault(code, result.resultCode, result.resultMessage, rule, 'unsigned gateway answer');
      }
      return retry(
        `unsigned ${result.resultStatus} gateway answer ${result.resultCode}: transient, not a refund outcome`,
        code,
        result.resultCode,
        result.resultMessage,
        rule,
      );
    }

    case 'answer':
      return classifyVerifiedAnswer(outcome, table);
  }
}

function classifyVerifiedAnswer(
  answer: Extract<InquiryOutcome, { kind: 'answer' }>,
  table: ResultCodeTable,
): Classification {
  const { resultCode, resultStatus, resultMessage } = answer.result;
  const { code, rule } = resolveResultCode(table, resultCode);

  if (resultStatus === 'S') return classifyRefundStatus(answer, code, table);

  if (resultStatus === 'U' || rule === undefined || rule.outcome === 'retry') {
    return retry(describe(resultStatus, resultCode, resultMessage, rule), code, resultCode, resultMessage, rule);
  }
  switch (rule.outcome) {
    case 'failed':
      return { ...failed(code, resultCode, resultMessage, rule), unconfirmed: { respondedAt: answer.respondedAt } };
    case 'integration-fault':
      return integrationFault(code, resultCode, resultMessage, rule, 'inquiry refused');
    case 'not-found':
      return {
        kind: 'not-found',
        reasonCode: code,
        resultCode,
        resultMessage,
        playbook: rule.playbook,
      };
  }
}

function classifyRefundStatus(
  answer: Extract<InquiryOutcome, { kind: 'answer' }>,
  code: string,
  table: ResultCodeTable,
): Classification {
  const { resultCode, resultMessage } = answer.result;
  const status = answer.refundStatus;
  if (status !== undefined && COMPLETED_STATUSES.has(status)) {
    return {
      kind: 'completed',
      refundStatus: status,
      resultCode,
      resultMessage,
      ...optional('refundTime', answer.refundTime),
      ...optional('refundId', answer.refundId),
      ...optional('refundRequestId', answer.refundRequestId),
      ...optional('paymentId', answer.paymentId),
      ...optional('refundAmount', answer.refundAmount),
      ...optional('grossSettlementAmount', answer.grossSettlementAmount),
      ...optional('settlementQuote', answer.settlementQuote),
      ...optional('arn', answer.arn),
    };
  }
  if (status !== undefined && FAILED_STATUSES.has(status)) {
    // The inquiry carries no refund-level reason (docs/antom.md, "Result codes") unless a gateway
    // put one in resultCode; a plain SUCCESS there says nothing about why the refund failed.
    const reasonCode = code === 'SUCCESS' ? REFUND_FAILED_WITHOUT_REASON : code;
    const rule = lookupResultCode(table, reasonCode);
    return { ...failed(reasonCode, resultCode, resultMessage, rule), refundStatus: status };
  }
  if (status !== undefined && PENDING_STATUSES.has(status)) return { kind: 'pending', refundStatus: status };
  const shown = status ?? '(none)';
  return {
    kind: 'retry',
    reason: `inquiry succeeded but refundStatus ${shown} is not one we know; treated as not final`,
    slowDown: false,
    alert: true,
    unknownCode: `refundStatus:${shown}`,
    resultCode,
    resultMessage,
  };
}

/**
 * notifyRefund: `refundStatus` is only ever SUCCESS or FAIL, and `result` carries the refund's
 * own outcome (docs/antom.md, "notifyRefund" and "Result codes"), so its code is the failure
 * reason.
 */
export function classifyRefundNotification(notification: RefundNotification, table: ResultCodeTable): Classification {
  const { resultCode, resultMessage } = notification.result;
  if (notification.refundStatus === 'SUCCESS') {
    return {
      kind: 'completed',
      refundStatus: notification.refundStatus,
      resultCode,
      resultMessage,
      refundId: notification.refundId,
      ...optional('refundRequestId', notification.refundRequestId),
      refundAmount: notification.refundAmount,
      ...optional('refundTime', notification.refundTime),
      ...optional('grossSettlementAmount', notification.grossSettlementAmount),
      ...optional('settlementQuote', notification.settlementQuote),
      ...optional('arn', notification.arn),
    };
  }
  const { code } = resolveResultCode(table, resultCode);
  const reasonCode = code === 'SUCCESS' ? REFUND_FAILED_WITHOUT_REASON : code;
  // The refund failed whatever the table says about the code in an inquiry; only the failure
  // rule's escalation and playbook are borrowed.
  const rule = lookupResultCode(table, reasonCode);
  return { ...failed(reasonCode, resultCode, resultMessage, rule), refundStatus: notification.refundStatus };
}

function failed(
  reasonCode: string,
  resultCode: string,
  resultMessage: string,
  rule: ResultCodeRule | undefined,
): Extract<Classification, { kind: 'failed' }> {
  const known = rule?.outcome === 'failed' ? rule : undefined;
  return {
    kind: 'failed',
    reasonCode,
    resultCode,
    resultMessage,
    // A failure nobody wrote a rule for is escalated: someone has to decide what it means.
    escalate: known?.escalate ?? true,
    ...optional('playbook', known?.playbook),
  };
}

function retry(
  reason: string,
  code: string,
  resultCode: string,
  resultMessage: string,
  rule: ResultCodeRule | undefined,
): Classification {
  return {
    kind: 'retry',
    reason,
    slowDown: rule?.slowDown ?? false,
    alert: rule === undefined,
    unknownCode: rule === undefined ? code : undefined,
    resultCode,
    resultMessage,
  };
}

function integrationFault(
  code: string,
  resultCode: string,
  resultMessage: string,
  rule: ResultCodeRule,
  what: string,
): Classification {
  return {
    kind: 'integration-fault',
    reasonCode: code,
    message: `${what}: ${resultCode} (${resultMessage})`,
    resultCode,
    resultMessage,
    ...optional('playbook', rule.playbook),
  };
}

function describe(
  status: ResultStatus,
  resultCode: string,
  resultMessage: string,
  rule: ResultCodeRule | undefined,
): string {
  const meaning =
    rule === undefined ? 'no rule for this code, asked again' : status === 'U' ? 'outcome unknown' : 'asked again';
  return `inquiry answered ${status} ${resultCode} (${resultMessage}): ${meaning}`;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
