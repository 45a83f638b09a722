import type { Decision } from '../domain/decide.js';
import { refundChanges, type TrackedRefund } from '../domain/refund.js';
import { observeDecision, type Observations } from './observations.js';
import { decisionOutbox, type NoticeRouter, type OutcomeTopics } from './outbox-entries.js';
import type { Logger } from 'pino';
import type { Random, ScheduleSettings } from '../domain/schedule.js';
import type { ApplyInput, Clock, RefundStore } from './ports.js';

/** What every use case that decides about a refund needs: the poll loop, notifyRefund, the sweep. */
export interface DecisionDeps {
  store: RefundStore;
  clock: Clock;
  random: Random;
  schedule: ScheduleSettings;
  topics: OutcomeTopics;
  /** Routes notices to deliveries when the decision is written (see decisionOutbox). */
  routeNotice?: NoticeRouter;
  logger: Logger;
  /** Called when a committed decision queued outbox entries (wakes the dispatcher). */
  onOutbox?: () => void;
  /** Initiated→final and the refunds stalled or given up, for the metrics (observations.ts). */
  observations?: Observations;
}

/**
 * Writes one decision about a refund: what changed between the refund and its next state, its
 * timeline rows and its effects (outcome events, notices or their deliveries) in one
 * transaction, only if the refund is still at the version the decision was made on; then wakes the dispatcher if there is something to send.
 * The poll loop, the notification receiver and the deadline sweep all commit this way, so an
 * outcome is written the same whichever of them decides it. Resolves to whether it applied.
 */
export type CommitDecision = (refund: TrackedRefund, decision: Decision, now: number) => Promise<boolean>;

export function createCommitDecision(deps: {
  /** The store's applyDecision, or a group commit in front of it (the poll loop). */
  apply: (input: ApplyInput) => Promise<boolean>;
  topics: OutcomeTopics;
  /** Routes notices to deliveries at decision time (see decisionOutbox). */
  routeNotice?: NoticeRouter;
  /** Called when the committed decision queued outbox entries. */
  onOutbox?: () => void;
  /** Counts what a written decision did (observations.ts). */
  observations?: Observations;
}): CommitDecision {
  return async (refund, decision, now) => {
    const outbox = decisionOutbox(decision, deps.topics, now, deps.routeNotice);
    const patch = refundChanges(refund, decision.next);
    const applied = await deps.apply({ key: refund.id, version: refund.version, patch, timeline: decision.timeline, outbox, now });
    if (applied && deps.observations) observeDecision(deps.observations, refund, decision, now);
    if (applied && outbox.length > 0) deps.onOutbox?.();
    return applied;
  };
}
