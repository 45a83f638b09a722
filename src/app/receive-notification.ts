import type { Logger } from 'pino';
import type { Classification } from '../domain/classify.js';
import { decideAfterNotification } from '../domain/decide.js';
import type { RefundNotification } from '../domain/inquiry.js';
import type { Random, ScheduleSettings } from '../domain/schedule.js';
import { decisionOutbox, type NoticeRouter, type OutcomeTopics } from './outbox-entries.js';
import type { Clock, RefundStore } from './ports.js';

export type NotificationResult =
  /** Recorded (or already known): acknowledge, so Antom stops resending. */
  | { status: 'applied' | 'already-final' | 'conflict' }
  /** Not a refund we track (yet): do not acknowledge, Antom will resend and the poll may catch up. */
  | { status: 'unknown-refund' };

export interface ReceiveNotificationDeps {
  store: RefundStore;
  classify: (n: RefundNotification) => Classification;
  clock: Clock;
  random: Random;
  schedule: ScheduleSettings;
  topics: OutcomeTopics;
  routeNotice?: NoticeRouter;
  logger: Logger;
  onOutbox?: () => void;
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
  return async (notification: RefundNotification): Promise<NotificationResult> => {
    const classification = deps.classify(notification);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const refund = await deps.store.findRefund({
        refundId: notification.refundId,
        refundRequestId: notification.refundRequestId,
      });
      if (!refund) {
        log.warn({ refundId: notification.refundId }, 'notification for a refund that is not tracked; not acknowledged');
        return { status: 'unknown-refund' };
      }
      const now = deps.clock.now();
      const decision = decideAfterNotification(refund, classification, { now, schedule: deps.schedule, random: deps.random });
      if (decision.events.length === 0) {
        await deps.store.appendTimeline(refund.id, decision.timeline, now);
        if (decision.conflict) log.error({ refund: refund.id, conflict: decision.conflict }, 'notification contradicts the known outcome');
        return { status: decision.conflict ? 'conflict' : 'already-final' };
      }
      const outbox = decisionOutbox(decision, deps.topics, now, deps.routeNotice);
      const applied = await deps.store.applyDecision({
        key: refund.id,
        version: refund.version,
        patch: decision.patch,
        timeline: decision.timeline,
        outbox,
        now,
      });
      if (applied) {
        deps.onOutbox?.();
        log.info({ refund: refund.id, outcome: decision.outcome }, 'outcome from Antom notification');
        return { status: 'applied' };
      }
    }
    throw new Error(`refund ${notification.refundId} kept changing while the notification was applied`);
  };
}
