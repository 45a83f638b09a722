import type { EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import { exponentialBackoff } from '../../domain/backoff.js';
import type { IngestOutage } from './ingest-errors.js';
import type { IngestStats } from './ingest-consumer.js';

/**
 * Per partition: the pause after an outage and its backoff, and the write the partition is waiting
 * on. Returning from eachBatch and pausing, instead of sleeping in it, keeps rebalances and
 * shutdown fast; /readyz reads from here why a partition is not moving.
 */

// A paused partition is tried again after 0.5 s, doubling to a minute: a short blip costs a
// second, a long outage one write a minute per partition.
const PAUSE_MIN_MS = 500;
const PAUSE_MAX_MS = 60_000;
// A chunk whose write has not finished after this long is reported by /readyz while it waits (a
// store that hangs, a dead-letter topic that is missing: the producer retries for a minute before
// it fails the send).
const SLOW_WRITE_MS = 10_000;

export interface PartitionPauses {
  /**
   * Stops fetching this partition for a while: the chunk that failed is fetched again from the
   * last resolved offset when the timer resumes it.
   */
  pause(payload: EachBatchPayload, err: IngestOutage): void;
  /** The partition made a chunk durable: its backoff starts over, and its pause is over. */
  recovered(partition: number): void;
  /** The partition waits for a chunk to be written (from the first wait, if it waits again). */
  writing(partition: number): void;
  written(partition: number): void;
  /** After a rebalance: partitions that moved to another member are no longer ours to report or resume. */
  keepOnly(assigned: ReadonlySet<number>): void;
  /** On stop: no partition is resumed any more. */
  cancelResumes(): void;
  /** Paused partitions, and writes waiting longer than SLOW_WRITE_MS, as sentences. */
  problems(): string[];
}

export function createPartitionPauses(deps: { now: () => number; log: Logger; stats: IngestStats }): PartitionPauses {
  const { now, log, stats } = deps;
  const paused = new Map<number, { since: number; reason: string; failures: number; timer?: NodeJS.Timeout }>();
  const failuresOf = new Map<number, number>();
  const writingSince = new Map<number, number>();

  return {
    pause(payload, err) {
      const { partition } = payload.batch;
      const failures = (failuresOf.get(partition) ?? 0) + 1;
      failuresOf.set(partition, failures);
      const waitMs = exponentialBackoff(failures, { baseMs: PAUSE_MIN_MS, capMs: PAUSE_MAX_MS });
      const previous = paused.get(partition);
      if (previous) clearTimeout(previous.timer);
      const resume = payload.pause();
      const timer = setTimeout(resume, waitMs);
      timer.unref();
      paused.set(partition, { since: previous?.since ?? now(), reason: err.message, failures, timer });
      stats.pauses += 1;
      log.error({ partition, retryInMs: waitMs, failures, reason: err.message }, 'ingest paused on this partition; nothing is dead-lettered or committed until it can write');
    },

    recovered(partition) {
      failuresOf.delete(partition);
      const entry = paused.get(partition);
      if (!entry) return;
      clearTimeout(entry.timer);
      paused.delete(partition);
      log.info({ partition, pausedForMs: now() - entry.since }, 'ingest resumed on this partition');
    },

    writing(partition) {
      if (!writingSince.has(partition)) writingSince.set(partition, now());
    },

    written(partition) {
      writingSince.delete(partition);
    },

    keepOnly(assigned) {
      for (const [partition, p] of paused) {
        if (assigned.has(partition)) continue;
        clearTimeout(p.timer);
        paused.delete(partition);
        failuresOf.delete(partition);
      }
      for (const partition of writingSince.keys()) if (!assigned.has(partition)) writingSince.delete(partition);
    },

    cancelResumes() {
      for (const p of paused.values()) clearTimeout(p.timer);
    },

    problems() {
      const problems: string[] = [];
      for (const [partition, p] of [...paused.entries()].sort((a, b) => a[0] - b[0])) {
        problems.push(`partition ${partition} paused since ${new Date(p.since).toISOString()} (${p.failures} tries): ${p.reason}`);
      }
      const at = now();
      for (const [partition, since] of [...writingSince.entries()].sort((a, b) => a[0] - b[0])) {
        if (at - since >= SLOW_WRITE_MS && !paused.has(partition)) {
          problems.push(`partition ${partition}: a write to the store or the dead-letter topic has been waiting since ${new Date(since).toISOString()}`);
        }
      }
      return problems;
    },
  };
}
