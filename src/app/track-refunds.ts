import type { NewRefund } from '../domain/refund.js';
import { firstPollAt } from '../domain/schedule.js';
import type { Clock, RefundStore, TrackResult } from './ports.js';

export interface TrackRefunds {
  (refunds: readonly NewRefund[]): Promise<TrackResult>;
}

/**
 * The ingest use case: make validated refunds durable and due for their first inquiry. It does
 * no Antom I/O; the poll loop picks them up from the store when they are due.
 */
export function createTrackRefunds(deps: { store: RefundStore; clock: Clock; firstDelayMs: number; antomApi?: 'v1' | 'v2' }): TrackRefunds {
  return async (refunds) => {
    const now = deps.clock.now();
    return deps.store.trackRefunds(refunds, {
      now,
      firstPollAt: firstPollAt(now, deps.firstDelayMs),
      // The flavour the records were validated for: the refund is asked that way all its life.
      antomApi: deps.antomApi,
    });
  };
}
