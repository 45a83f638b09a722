/**
 * How a dispatcher records what happened to an entry: sent, retry later, dead, or replaced by a
 * fallback. Every mark is guarded by the lease owner in the store, and retried alone when the store
 * refuses it: what was sent is never sent again because its mark failed, and a failure is not
 * forgotten because the store blinked. Should the process stop first, the entries' leases run out
 * and they are claimed again; a customer email then carries its sending mark and is reported in
 * doubt instead of resent.
 */
import type { Logger } from 'pino';
import { exponentialBackoff } from '../../domain/backoff.js';
import { LeaseLostError, isInDoubt, isRetriable, retryAfterOf } from '../../domain/errors.js';
import type { FallbackPlanner } from '../notify/fall-back.js';
import type { Clock, OutboxEntry, RefundStore } from '../ports.js';
import type { Sleep } from '../rate-limiter.js';
import { outboxTraceLogFields } from '../tracing.js';
import type { HeldLeases } from './leases.js';

export interface DispatchStats {
  published: number;
  delivered: number;
  planned: number;
  retried: number;
  dead: number;
  /** Deliveries handed to the other channel after their receiver kept failing. */
  fallbacks: number;
  /** Stale deliveries folded into a backlog summary. */
  coalesced: number;
}

/**
 * Sees every delivery's result (the customer-email outage notices hang off it). Called after the
 * result is recorded; its own failures are logged, never the delivery's.
 */
export interface DeliveryWatch {
  delivered(entry: OutboxEntry): Promise<void>;
  failed(entry: OutboxEntry, err: unknown): Promise<void>;
}

// Events retry forever (an outcome must reach the mesh), backing off to a minute between tries.
export const EVENT_RETRY_MAX_MS = 60_000;
// Deliveries back off to 15 minutes between tries: a mail server's own retry interval is of that
// order, and a receiver that answers again is not left waiting that long anyway (the first
// delivery that goes through makes the rest of its backlog due at once; see DeliveryWatch).
const DELIVERY_RETRY_MAX_MS = 15 * 60_000;
// A Retry-After is honoured up to the delivery ceiling: a peer (or anything pretending to be
// one) asking for a year must not park a delivery for a year.
const RETRY_AFTER_MAX_MS = DELIVERY_RETRY_MAX_MS;
// A mark that fails after a send succeeded is retried, never the send: up to this long between
// tries, for as long as the dispatcher runs.
const MARK_RETRY_MAX_MS = 5_000;

export function createOutboxMarks(deps: {
  store: RefundStore;
  owner: string;
  clock: Clock;
  sleep: Sleep;
  log: Logger;
  stats: DispatchStats;
  held: HeldLeases;
  fallbackFor?: FallbackPlanner;
  watch?: DeliveryWatch;
  giveUpAfter: (entry: OutboxEntry) => number;
  /** Whether the dispatcher still runs, and its stop signal: a stopping one gives up on a refused mark. */
  running: () => boolean;
  signal: () => AbortSignal | undefined;
}) {
  const { store, owner, log, stats, held } = deps;

  async function persist<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!deps.running() && attempt > 3) {
          log.error({ err, mark: what }, 'the store refused an outbox mark; stopping before it took it');
          return undefined;
        }
        log.warn({ err, mark: what, attempt }, 'the store refused an outbox mark; retrying the mark only');
        await deps.sleep(exponentialBackoff(attempt, { baseMs: 200, capMs: MARK_RETRY_MAX_MS }), deps.signal());
      }
    }
  }

  /** Records that entries went out (their send is never repeated). */
  async function markSent(entries: readonly OutboxEntry[]): Promise<void> {
    const ids = entries.map((e) => e.id);
    const marked = await persist('sent', () => store.markOutboxSent(ids, deps.clock.now(), owner));
    if (marked !== undefined && marked < ids.length) {
      log.warn({ entries: ids.length, marked }, 'sent, but the lease had passed to another holder; not marked here');
    }
    for (const id of ids) held.release(id);
  }

  /** Back to pending after `retryMs` (events and notices: they never give up). */
  async function retryLater(entry: OutboxEntry, err: unknown, retryMs: number): Promise<void> {
    stats.retried += 1;
    const now = deps.clock.now();
    await persist('retry', () => store.retryOutboxLater(entry.id, { nextAttemptAt: now + retryMs, error: (err as Error).message, now, owner }));
    held.release(entry.id);
  }

  async function watch(what: 'delivered' | 'failed', entry: OutboxEntry, err?: unknown): Promise<void> {
    if (!deps.watch) return;
    try {
      if (what === 'delivered') await deps.watch.delivered(entry);
      else await deps.watch.failed(entry, err);
    } catch (watchErr) {
      log.warn({ err: watchErr }, 'delivery watch failed');
    }
  }

  async function delivered(entry: OutboxEntry): Promise<void> {
    await markSent([entry]);
    stats.delivered += 1;
    await watch('delivered', entry);
  }

  /**
   * A delivery that failed (or was not tried because its receiver just failed): fall back, retry,
   * or give up. A temporary failure is retried until the entry's give-up time, counted from the
   * first failure of the run; a permanent one, or one that may have been delivered anyway (in
   * doubt), is never retried.
   */
  async function failed(entry: OutboxEntry, err: unknown): Promise<void> {
    held.release(entry.id);
    if (err instanceof LeaseLostError) {
      log.warn({ entry: entry.dedupeKey, ...outboxTraceLogFields(entry.payload) }, err.message);
      return;
    }
    const message = (err as Error).message;
    const trace = outboxTraceLogFields(entry.payload);
    const now = deps.clock.now();
    const failingSince = entry.failingSince ?? now;
    const fallback = deps.fallbackFor?.(entry, err, { failingSince, now });
    if (fallback && fallback.length > 0) {
      stats.fallbacks += 1;
      log.error({ err, entry: entry.dedupeKey, ...trace, to: fallback.map((f) => f.channel) }, 'receiver keeps failing: fell back to another channel');
      const doneError = `fell back to ${fallback.map((f) => f.channel).join(', ')}: ${message}`;
      await persist('fallback', () => store.expandOutbox([{ doneId: entry.id, refundKey: entry.refundKey, entries: fallback, doneError }], now, owner));
    } else if (!isRetriable(err) || isInDoubt(err) || now - failingSince >= deps.giveUpAfter(entry)) {
      stats.dead += 1;
      log.error({ err, entry: entry.dedupeKey, ...trace, attempts: entry.attempts, failingSince }, 'delivery given up');
      await persist('dead', () => store.markOutboxDead(entry.id, { error: message, now, owner }));
    } else {
      stats.retried += 1;
      log.warn({ err, entry: entry.dedupeKey, ...trace, attempts: entry.attempts }, 'delivery failed; will retry');
      const retryAfterMs = Math.min(RETRY_AFTER_MAX_MS, Math.max(0, retryAfterOf(err) ?? 0));
      const nextAttemptAt = now + Math.max(retryAfterMs, exponentialBackoff(entry.attempts, { baseMs: 500, capMs: DELIVERY_RETRY_MAX_MS }));
      await persist('retry', () => store.retryOutboxLater(entry.id, { nextAttemptAt, error: message, now, owner }));
    }
    await watch('failed', entry, err);
  }

  return { persist, markSent, retryLater, delivered, failed };
}

export type OutboxMarks = ReturnType<typeof createOutboxMarks>;
