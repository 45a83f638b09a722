import type { NewRefund, TimelineEntry, TrackedRefund, TrackingStatus } from '../domain/refund.js';

/** Wall-clock time, injected so schedules spanning days are testable in milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface TrackResult {
  /** Tracking keys that were new and are now durable. */
  readonly inserted: readonly string[];
  /** Records for refunds already tracked: nothing changed for them. */
  readonly duplicates: number;
}

export interface RefundFilter {
  readonly status?: TrackingStatus;
  readonly limit?: number;
  /** Keyset pagination: keys strictly after this one. */
  readonly after?: string;
}

/**
 * The durable store of tracked refunds, their timelines and the outbox. One contract suite
 * (test/contract/refund-store.contract.ts) runs against every implementation.
 */
export interface RefundStore {
  /** Brings the schema to the newest version; safe to call on every start and concurrently. */
  migrate(): Promise<void>;
  /**
   * Makes the refunds durable, each with a `tracked` timeline entry, in one transaction.
   * Idempotent by tracking key (and by refundRequestId): a record for a refund already tracked
   * changes nothing and is counted as a duplicate.
   */
  trackRefunds(refunds: readonly NewRefund[], context: { now: number; firstPollAt: number }): Promise<TrackResult>;
  getRefund(key: string): Promise<TrackedRefund | undefined>;
  listRefunds(filter: RefundFilter): Promise<TrackedRefund[]>;
  countByStatus(): Promise<Record<TrackingStatus, number>>;
  timeline(key: string): Promise<TimelineEntry[]>;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
