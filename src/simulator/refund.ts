import type { NotificationAttempt } from './notifier.js';
import type { SandboxApi, Scenario } from './scenario.js';

/** One refund the sandbox knows, as it is held and as the admin API shows it. */

export type SandboxRefundStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL';

export interface SimRefund {
  readonly refundId: string;
  readonly refundRequestId: string;
  readonly paymentId: string;
  readonly refundAmount: { currency: string; value: string };
  readonly scenario: Scenario;
  readonly createdAt: number;
  /** Real epoch ms from which it may be final (pendingMs / timeScale after creation). */
  readonly finalNotBefore: number;
  status: SandboxRefundStatus;
  finalizedAt?: number;
  notifyUrl?: string;
  /** The merchant's client id, as last seen on a request about this refund. */
  clientId?: string;
  inquiries: InquiryRecord[];
  notifications: NotificationAttempt[];
  /** Cancels the timer that settles a refund pending for time only. */
  cancelSettle?: () => void;
}

export interface SandboxRefundView {
  readonly refundId: string;
  readonly refundRequestId: string;
  readonly paymentId: string;
  readonly refundAmount: { currency: string; value: string };
  readonly status: SandboxRefundStatus;
  readonly final: 'SUCCESS' | 'FAIL' | 'PENDING';
  readonly failCode?: string;
  readonly createdAt: string;
  readonly finalizedAt?: string;
  readonly refundTime?: string;
  readonly inquiries: number;
}

export interface InquiryRecord {
  /** 1-based, per refund. */
  readonly n: number;
  readonly at: string;
  readonly api: SandboxApi;
  readonly path: string;
  readonly clientId: string;
  /** The refund status answered (PROCESSING / SUCCESS / FAIL), a fault kind, or a result code. */
  readonly answer: string;
  readonly httpStatus: number;
  readonly resultCode?: string;
  /** How long after `at` the answer was sent (the scenario's latency); absent when it never was. */
  readonly answeredAfterMs?: number;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function failCodeOf(refund: SimRefund): string {
  return refund.scenario.failCode ?? 'PROCESS_FAIL';
}

export function viewOf(refund: SimRefund): SandboxRefundView {
  const failCode = refund.scenario.final === 'FAIL' ? failCodeOf(refund) : undefined;
  return {
    refundId: refund.refundId,
    refundRequestId: refund.refundRequestId,
    paymentId: refund.paymentId,
    refundAmount: refund.refundAmount,
    status: refund.status,
    final: refund.scenario.final ?? 'SUCCESS',
    createdAt: isoTime(refund.createdAt),
    inquiries: refund.inquiries.length,
    failCode,
    ...(refund.finalizedAt === undefined ? {} : { finalizedAt: isoTime(refund.finalizedAt) }),
    ...(refund.status === 'SUCCESS' && refund.finalizedAt !== undefined ? { refundTime: isoTime(refund.finalizedAt) } : {}),
  };
}
