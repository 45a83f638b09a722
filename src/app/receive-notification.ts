import type { Classification } from '../domain/classify.js';
import { decideAfterNotification } from '../domain/decide-notification.js';
import type { RefundNotification } from '../domain/inquiry.js';
import { createCommitDecision, type DecisionDeps } from './commit-decision.js';
import { traceLogFields } from './tracing.js';

export type NotificationResult =
  /** Recorded (or already known): acknowledge, so Antom stops resending. */
  | { status: 'applied' | 'already-final' | 'conflict' }
  /** Not a refund we track (yet): do not acknowledge, Antom will resend and the poll may catch up. */
  | { status: 'unknown-refund' };

export interface ReceiveNotificationDeps extends DecisionDeps {
  classify: (n: RefundNotification) => Classification;
}

// A notification races the poll loop for the same refund; each loser re-reads and decides again.
// Three rounds is far more than two writers can contend for one row.
const MAX_ATTEMPTS = 3;

/**
 * Antom's notifyRefund, already verified by the HTTP receiver: the refund becomes final now
 * rather than at its next inquiry. It goes through the same decision and the same outbox as a
 * poll, so the event id is the same whichever path sees the outcome first, and the loser of the
 * race changes nothing.
 */
export function createReceiveNotification(deps: ReceiveNotificationDeps) {
  const log = deps.logger.child({ component: 'notify' });
  const commit = createCommitDecision({
    apply: (input) => deps.store.applyDecision(input),
    topics: deps.topics,
    routeNotice: deps.routeNotice,
    onOutbox: deps.onOutbox,
    observations: deps.observations,
  });

  /**
   * By refundId first (every notification names it). A refundRequestId alone matches only a
   * refund we track without a refundId, or with the same one: a notification about another refund
   * that happens to share a request id must not finalise ours.
   */
  async function find(n: RefundNotification) {
    const byId = await deps.store.findRefund({ refundId: n.refundId });
    if (byId) return byId;
    if (n.refundRequestId === undefined) return undefined;
    const byRequest = await deps.store.findRefund({ refundRequestId: n.refundRequestId });
    if (byRequest && (byRequest.refundId === undefined || byRequest.refundId === n.refundId)) return byRequest;
    if (byRequest) {
      log.error({ refund: byRequest.id, ...traceLogFields(byRequest.origin.traceparent), notified: n.refundId }, 'notification names a refundRequestId we track under another refundId; not applied');
    }
    return undefined;
  }

  return async (notification: RefundNotification): Promise<NotificationResult> => {
    const classification = deps.classify(notification);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const refund = await find(notification);
      if (!refund) {
        log.warn({ refundId: notification.refundId }, 'notification for a refund that is not tracked; not acknowledged');
        return { status: 'unknown-refund' };
      }
      const now = deps.clock.now();
      const decision = decideAfterNotification(refund, classification, { now, schedule: deps.schedule, random: deps.random });
      // Antom resends a notification until it is acknowledged: a repeat writes nothing at all.
      if (decision.repeat) return { status: 'already-final' };
      if (decision.conflict) {
        log.error({ refund: refund.id, ...traceLogFields(refund.origin.traceparent), conflict: decision.conflict }, 'notification not applied: it contradicts what we know; escalated');
        // Recorded once per refund, however often it is sent: the alert's outbox entry is kept
        // single by its scope, the timeline entry by looking.
        const seen = (await deps.store.timeline(refund.id)).some((e) => decision.timeline.some((t) => t.kind === e.kind && t.message === e.message));
        if (seen) return { status: 'conflict' };
      }
      if (await commit(refund, decision, now)) {
        if (decision.conflict) return { status: 'conflict' };
        log.info({ refund: refund.id, ...traceLogFields(refund.origin.traceparent), outcome: decision.outcome }, 'outcome from Antom notification');
        return { status: 'applied' };
      }
    }
    throw new Error(`refund ${notification.refundId} kept changing while the notification was applied`);
  };
}
