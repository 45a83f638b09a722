import { decideDeadlines } from '../domain/decide-deadlines.js';
import { createCommitDecision, type DecisionDeps } from './commit-decision.js';

/**
 * The stalled sweep: the schedule already wakes each refund at its stall and give-up points, but
 * if no poller ran at that moment (the service was down, the lease holder crashed), this finds the
 * refunds past a deadline and applies it. Idempotent: a deadline applied once is not applied again.
 */
export function createSweepDeadlines(deps: DecisionDeps) {
  const log = deps.logger.child({ component: 'sweep' });
  // The sweep wakes the dispatcher once, after all its decisions, not after each.
  const commit = createCommitDecision({
    apply: (input) => deps.store.applyDecision(input),
    topics: deps.topics,
    routeNotice: deps.routeNotice,
    observations: deps.observations,
  });
  return async (): Promise<number> => {
    const now = deps.clock.now();
    const overdue = await deps.store.listOverdue({
      stalledBefore: now - deps.schedule.stalledAfterMs,
      giveUpBefore: now - deps.schedule.giveUpAfterMs,
      limit: 500,
    });
    let applied = 0;
    for (const refund of overdue) {
      const decision = decideDeadlines(refund, { now, schedule: deps.schedule, random: deps.random });
      if (!decision) continue;
      if (await commit(refund, decision, now)) applied += 1;
    }
    if (applied > 0) {
      log.info({ applied }, 'deadlines applied by the sweep');
      deps.onOutbox?.();
    }
    return applied;
  };
}
