import { codeFor, messageFor, refundStatusFor, type FaultRule, type SandboxApi } from './scenario.js';
import { failCodeOf, isoTime, type SimRefund } from './refund.js';

/**
 * What the sandbox answers about a refund, as plain values: the JSON bodies of v1 and v2, the
 * faults that stand in for them, and the notifyRefund body. How an answer is signed and written
 * to the socket is antom-gateway.ts's business.
 */
export type Reply =
  | { kind: 'json'; body: Record<string, unknown>; signing: 'signed' | 'unsigned' | 'forged'; malformed?: boolean }
  | { kind: 'http-error'; status: number; retryAfterSeconds?: number };

function result(api: SandboxApi, code: string, status: 'S' | 'F' | 'U', message?: string) {
  const spelled = codeFor(api, code);
  return { resultCode: spelled, resultStatus: status, resultMessage: message ?? messageFor(spelled) };
}

export function failure(api: SandboxApi, code: string, message?: string, status: 'F' | 'U' = 'F'): Reply {
  return { kind: 'json', body: { result: result(api, code, status, message) }, signing: 'signed' };
}

export function signed(body: Record<string, unknown>): Reply {
  return { kind: 'json', body, signing: 'signed' };
}

/**
 * The straight answer about a refund in its current state (docs/antom.md, "Two APIs called
 * inquiryRefund").
 */
export function statusAnswer(api: SandboxApi, refund: SimRefund, now: () => number): Record<string, unknown> {
  if (refund.status === 'FAIL' && refund.scenario.failureReporting === 'result-code') {
    return { result: result(api, failCodeOf(refund), 'F') };
  }
  const ok = result(api, 'SUCCESS', 'S', 'success');
  const refundStatus = refundStatusFor(api, refund.status);
  const refundTime = refund.status === 'SUCCESS' ? { refundTime: isoTime(refund.finalizedAt ?? now()) } : {};
  if (api === 'v2') {
    // resultCode is optional in the v2 spec: every other refund's answers leave it out, so a
    // client that requires it is caught by any test with more than one refund.
    const { resultCode: _omitted, ...withoutCode } = ok;
    const answerResult = hashOf(refund.refundId) % 2 === 0 ? ok : withoutCode;
    return { refundId: refund.refundId, result: answerResult, refundStatus, ...refundTime, paymentId: refund.paymentId };
  }
  return {
    result: ok,
    refundId: refund.refundId,
    refundRequestId: refund.refundRequestId,
    refundAmount: refund.refundAmount,
    refundStatus,
    ...refundTime,
  };
}

export function faultReply(api: SandboxApi, refund: SimRefund, fault: FaultRule, now: () => number): Reply {
  switch (fault.kind) {
    case 'http-error':
      return {
        kind: 'http-error',
        status: fault.httpStatus ?? 503,
        retryAfterSeconds: fault.retryAfterSeconds,
      };
    case 'unknown-exception':
      return failure(api, 'UNKNOWN_EXCEPTION', undefined, 'U');
    case 'traffic-limit':
      return failure(api, 'REQUEST_TRAFFIC_EXCEED_LIMIT', undefined, 'U');
    case 'result-code':
      return failure(api, fault.resultCode ?? 'UNKNOWN_EXCEPTION', fault.resultMessage, fault.resultStatus ?? 'F');
    case 'unsigned-error':
      return {
        kind: 'json',
        body: { result: result(api, fault.resultCode ?? 'UNKNOWN_EXCEPTION', fault.resultStatus ?? 'U', fault.resultMessage) },
        signing: 'unsigned',
      };
    case 'unsigned':
      return { kind: 'json', body: statusAnswer(api, refund, now), signing: 'unsigned' };
    case 'forged-signature':
      return { kind: 'json', body: statusAnswer(api, refund, now), signing: 'forged' };
    case 'malformed-json':
      return { kind: 'json', body: statusAnswer(api, refund, now), signing: 'signed', malformed: true };
    case 'hang':
      // The hang itself is played by the caller; after it, the answer is the normal one.
      return signed(statusAnswer(api, refund, now));
  }
}

/** The answer to a refund request that created the refund, or repeated it with the same fields. */
export function refundAccepted(api: SandboxApi, refund: SimRefund, now: () => number): Record<string, unknown> {
  const ok = result(api, 'SUCCESS', 'S', 'success');
  if (api === 'v2') return { refundRequestId: refund.refundRequestId, result: ok, refundId: refund.refundId };
  return {
    result: ok,
    refundRequestId: refund.refundRequestId,
    refundId: refund.refundId,
    paymentId: refund.paymentId,
    refundAmount: refund.refundAmount,
    ...(refund.status === 'SUCCESS' ? { refundTime: isoTime(refund.finalizedAt ?? now()) } : {}),
  };
}

/** The notifyRefund body: it carries the fail code whatever the scenario's failureReporting. */
export function notificationBody(refund: SimRefund, now: () => number): Record<string, unknown> {
  const success = refund.status === 'SUCCESS';
  const code = success ? 'SUCCESS' : failCodeOf(refund);
  return {
    notifyType: 'REFUND_RESULT',
    result: { resultCode: code, resultStatus: success ? 'S' : 'F', resultMessage: messageFor(code) },
    refundStatus: refund.status,
    refundRequestId: refund.refundRequestId,
    refundId: refund.refundId,
    refundAmount: refund.refundAmount,
    ...(success ? { refundTime: isoTime(refund.finalizedAt ?? now()) } : {}),
    metadata: refund.scenario.metadata,
  };
}

export function isFailureBody(body: Record<string, unknown>): boolean {
  return (body.result as { resultStatus?: string } | undefined)?.resultStatus !== 'S';
}

export function resultCodeOf(body: Record<string, unknown>): string {
  return String((body.result as { resultCode?: string } | undefined)?.resultCode ?? '');
}

/** A small stable hash of an id (FNV-1a), for choices that must not change between runs. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
