import { nonEmpty, type TrackedRefund } from './refund.js';
import type { NotificationEvent, NotificationSubject } from './routing.js';

/**
 * A refund as the people to be told see it: the one place a NotificationSubject is made from a
 * tracked refund, for the decisions' notices and for the stalled reminders alike.
 */

/** What happened, for the people to be told (routed to receivers by the notification layer). */
export interface Notice extends NotificationSubject {
  /** What a human should do, when the classification knows (the result-code table's playbook). */
  readonly playbook?: string;
  /**
   * Notices with the same scope are the same alert: an integration fault is raised once per code
   * per hour across all refunds, not once per refund.
   */
  readonly scope?: string;
}

/** The refund as it stands, for `event` detected at `detectedAt`. */
export function noticeSubject(refund: TrackedRefund, event: NotificationEvent, detectedAt: number): NotificationSubject {
  return {
    event,
    refundKey: refund.id,
    refundId: nonEmpty(refund.refundId),
    refundRequestId: nonEmpty(refund.refundRequestId),
    paymentId: refund.paymentId,
    status: nonEmpty(refund.lastRefundStatus),
    reasonCode: nonEmpty(refund.reasonCode),
    resultCode: nonEmpty(refund.resultCode),
    resultMessage: nonEmpty(refund.resultMessage),
    refundAmount: refund.refundAmount,
    merchantAccountId: nonEmpty(refund.merchantAccountId),
    paymentMethodType: nonEmpty(refund.paymentMethodType),
    customer: refund.customer,
    metadata: refund.metadata,
    refundTime: nonEmpty(refund.refundTime),
    escalate: refund.escalated,
    detectedAt,
    inquiries: refund.inquiries,
    traceparent: refund.origin.traceparent,
  };
}
