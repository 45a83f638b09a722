import type { Logger } from 'pino';
import type { Clock, RefundStore } from './ports.js';

// 500 refunds a transaction: a few milliseconds of locks each, and a night's backlog of a busy
// platform (tens of thousands) in a few hundred short transactions instead of one long one.
const BATCH = 500;

/**
 * The nightly retention job (docs/store.md, "Retention"): customer data of refunds final longer
 * than CUSTOMER_DATA_RETENTION is erased, then the history of refunds final longer than
 * HISTORY_RETENTION is deleted; in batches, until nothing is left. Returns what it did.
 */
export function createRetention(deps: { store: RefundStore; clock: Clock; logger: Logger; customerDataMs: number; historyMs: number }) {
  const log = deps.logger.child({ component: 'retention' });
  return async function applyRetention(): Promise<{ erased: number; refunds: number; timeline: number; threads: number; groups: number }> {
    const now = deps.clock.now();
    const done = { erased: 0, refunds: 0, timeline: 0, threads: 0, groups: 0 };
    for (;;) {
      const erased = await deps.store.eraseCustomerData({ finalBefore: now - deps.customerDataMs, limit: BATCH });
      done.erased += erased;
      if (erased < BATCH) break;
    }
    for (;;) {
      const pruned = await deps.store.pruneHistory({ finalBefore: now - deps.historyMs, limit: BATCH });
      done.refunds += pruned.refunds;
      done.timeline += pruned.timeline;
      done.threads += pruned.threads;
      done.groups += pruned.groups;
      if (pruned.refunds < BATCH && pruned.groups < BATCH) break;
    }
    if (done.erased + done.refunds + done.groups > 0) log.info(done, 'retention applied');
    return done;
  };
}
