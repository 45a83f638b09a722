import type { Logger } from 'pino';
import { isRetriable } from '../domain/errors.js';
import type { EventPayload } from './outbox-entries.js';
import type { Clock, OutboxEntry, OutboxEntryInput, OutboxKind, RefundStore } from './ports.js';
import type { Sleep } from './rate-limiter.js';

/** Publishes records to Kafka; resolves only once the broker acknowledged every one of them. */
export interface EventPublisher {
  publish(records: ReadonlyArray<{ topic: string } & EventPayload>): Promise<void>;
}

/** Turns a notice (what happened) into deliveries (who is told what): the routing of notifications. */
export type NoticePlanner = (notice: unknown, entry: OutboxEntry) => OutboxEntryInput[] | Promise<OutboxEntryInput[]>;

/** Sends one delivery (a Slack message, an email); throws a RefundNotifierError on failure. */
export type DeliverySender = (entry: OutboxEntry) => Promise<void>;

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

/** A receiver that keeps failing: the entries that replace the failed delivery, if any. */
export type FallbackPlanner = (entry: OutboxEntry, err: unknown) => OutboxEntryInput[] | undefined;

/**
 * Backlog summaries: groups of deliveries that one message stands for. `claimBacklog` leases the
 * rest of a receiver's stale backlog (not yet due again) so one summary covers all of it.
 */
export type BacklogCoalescer = (
  entries: OutboxEntry[],
  claimBacklog: (channel: string, createdBefore: number) => Promise<OutboxEntry[]>,
) => Promise<Array<{ covers: OutboxEntry[]; send: () => Promise<void> }>>;

export interface OutboxDispatcher {
  start(): void;
  stop(): Promise<void>;
  wake(): void;
  /** One pass over what is due; returns how many entries it handled (for tests and the demo). */
  dispatchOnce(): Promise<number>;
  readonly stats: Readonly<DispatchStats>;
}

export interface OutboxDispatcherDeps {
  store: RefundStore;
  publisher: EventPublisher;
  planNotice?: NoticePlanner;
  deliver?: DeliverySender;
  fallbackFor?: FallbackPlanner;
  coalesce?: BacklogCoalescer;
  clock: Clock;
  sleep: Sleep;
  logger: Logger;
  owner: string;
  /** Which kinds this dispatcher handles; the others stay pending for a dispatcher that does. */
  kinds?: OutboxKind[];
  batchSize?: number;
  /** A delivery that keeps failing is given up (dead, visible in /admin) after this many attempts. */
  maxDeliveryAttempts?: number;
}

// Events retry forever (an outcome must reach the mesh), backing off to a minute between tries.
const EVENT_RETRY_MAX_MS = 60_000;
// 200 entries a pass: one producer request for the events of a busy second at 500 inquiries/s.
const DEFAULT_BATCH = 200;
// How long a claimed batch is ours. A healthy pass takes seconds (one producer request; Slack and
// SMTP calls with 10 s timeouts, a failing receiver tried once per pass); after a crash the
// batch is picked up again this long after the claim, so it is kept to a minute.
const LEASE_MS = 60_000;
const IDLE_MS = 500;
// Customer emails in parallel: the mailer's pool holds 5 SMTP connections.
const CUSTOMER_LANES = 5;

export function backoffMs(attempts: number, capMs: number): number {
  return Math.min(capMs, 500 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Delivers the outbox: outcome events to Kafka (marked sent only after the broker acknowledged
 * them), notices expanded into deliveries, deliveries sent. Entries are claimed under a lease,
 * so several dispatchers (instances) never send the same entry at the same moment, and a crashed
 * one's entries are sent by the next. Delivery is at-least-once: a crash between the broker's ack
 * and the `sent` mark resends the same record with the same event id.
 */
export function createOutboxDispatcher(deps: OutboxDispatcherDeps): OutboxDispatcher {
  const log = deps.logger.child({ component: 'outbox' });
  const stats: DispatchStats = { published: 0, delivered: 0, planned: 0, retried: 0, dead: 0, fallbacks: 0, coalesced: 0 };
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;
  const maxAttempts = deps.maxDeliveryAttempts ?? 12;
  const kinds = deps.kinds ?? (['event', 'notice', 'delivery'].filter(
    (k) => k === 'event' || (k === 'notice' && deps.planNotice) || (k === 'delivery' && deps.deliver),
  ) as OutboxKind[]);
  const abort = new AbortController();
  let running = false;
  let loopDone: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let wakeIdle: (() => void) | undefined;
  let woken = false;

  async function publishEvents(entries: OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await deps.publisher.publish(entries.map((e) => ({ topic: e.channel, ...(e.payload as EventPayload) })));
    } catch (err) {
      stats.retried += entries.length;
      const now = deps.clock.now();
      log.warn({ err, events: entries.length }, 'publishing outcome events failed; will retry');
      for (const e of entries) {
        await deps.store.retryOutboxLater(e.id, {
          nextAttemptAt: now + backoffMs(e.attempts, EVENT_RETRY_MAX_MS),
          error: (err as Error).message,
        });
      }
      return;
    }
    await deps.store.markOutboxSent(
      entries.map((e) => e.id),
      deps.clock.now(),
    );
    stats.published += entries.length;
  }

  /** Plans every notice of the pass, then writes all their deliveries in one transaction. */
  async function planNotices(entries: OutboxEntry[]): Promise<void> {
    const planned: Array<{ doneId: number; refundKey: string; entries: OutboxEntryInput[] }> = [];
    for (const entry of entries) {
      try {
        planned.push({ doneId: entry.id, refundKey: entry.refundKey, entries: await deps.planNotice!(entry.payload, entry) });
      } catch (err) {
        stats.retried += 1;
        log.error({ err, entry: entry.dedupeKey }, 'planning notifications failed; will retry');
        await deps.store.retryOutboxLater(entry.id, {
          nextAttemptAt: deps.clock.now() + backoffMs(entry.attempts, EVENT_RETRY_MAX_MS),
          error: (err as Error).message,
        });
      }
    }
    await deps.store.expandOutbox(planned, deps.clock.now());
    stats.planned += planned.reduce((n, p) => n + p.entries.length, 0);
  }

  /** Sends one delivery; returns the error when the receiver failed in a way worth not repeating. */
  async function deliver(entry: OutboxEntry): Promise<unknown> {
    try {
      await deps.deliver!(entry);
      await deps.store.markOutboxSent([entry.id], deps.clock.now());
      stats.delivered += 1;
      return undefined;
    } catch (err) {
      await failed(entry, err);
      return isRetriable(err) ? err : undefined;
    }
  }

  /** A delivery that failed (or was not tried because its receiver just failed): fall back, retry, or give up. */
  async function failed(entry: OutboxEntry, err: unknown): Promise<void> {
    const message = (err as Error).message;
    const retryAfterMs = (err as { retryAfterMs?: number }).retryAfterMs;
    const fallback = deps.fallbackFor?.(entry, err);
    if (fallback && fallback.length > 0) {
      stats.fallbacks += 1;
      log.error({ err, entry: entry.dedupeKey, to: fallback.map((f) => f.channel) }, 'receiver keeps failing: fell back to another channel');
      await deps.store.expandOutbox([{ doneId: entry.id, refundKey: entry.refundKey, entries: fallback }], deps.clock.now());
      await deps.store.markOutboxDead(entry.id, { error: `fell back to ${fallback.map((f) => f.channel).join(', ')}: ${message}`, now: deps.clock.now() });
      return;
    }
    if (!isRetriable(err) || entry.attempts >= maxAttempts) {
      stats.dead += 1;
      log.error({ err, entry: entry.dedupeKey, attempts: entry.attempts }, 'delivery given up');
      await deps.store.markOutboxDead(entry.id, { error: message, now: deps.clock.now() });
      return;
    }
    stats.retried += 1;
    log.warn({ err, entry: entry.dedupeKey, attempts: entry.attempts }, 'delivery failed; will retry');
    await deps.store.retryOutboxLater(entry.id, {
      nextAttemptAt: deps.clock.now() + Math.max(retryAfterMs ?? 0, backoffMs(entry.attempts, 15 * 60_000)),
      error: message,
    });
  }

  async function dispatchOnce(): Promise<number> {
    const claimed = await deps.store.claimOutbox({
      owner: deps.owner,
      now: deps.clock.now(),
      limit: batchSize,
      leaseMs: LEASE_MS,
      kinds,
    });
    if (claimed.length === 0) return 0;
    await publishEvents(claimed.filter((e) => e.kind === 'event'));
    await planNotices(claimed.filter((e) => e.kind === 'notice'));
    let deliveries = claimed.filter((e) => e.kind === 'delivery');
    const claimBacklog = async (channel: string, createdBefore: number) => {
      const known = new Set(deliveries.map((e) => e.id));
      const more = await deps.store.claimBacklog({ owner: deps.owner, now: deps.clock.now(), limit: 1000, leaseMs: LEASE_MS, channel, createdBefore });
      return more.filter((e) => !known.has(e.id));
    };
    for (const summary of (await deps.coalesce?.(deliveries, claimBacklog)) ?? []) {
      const covered = new Set(summary.covers.map((e) => e.id));
      try {
        await summary.send();
        await deps.store.markOutboxSent([...covered], deps.clock.now());
        stats.coalesced += covered.size;
        deliveries = deliveries.filter((e) => !covered.has(e.id));
      } catch (err) {
        // The receiver is still down: every entry the summary stood for counts as failed with it
        // (not tried one by one in this pass), and waits for the next.
        log.warn({ err, entries: covered.size }, 'backlog summary failed; will retry');
        for (const e of summary.covers) await failed(e, err);
        deliveries = deliveries.filter((e) => !covered.has(e.id));
      }
    }
    // One receiver at a time, in order (Slack allows about one message a second per channel, and
    // order matters in a channel); different receivers in parallel. Customer emails, each to its
    // own address, go several at a time over the pooled SMTP connections.
    const byReceiver = new Map<string, OutboxEntry[]>();
    for (const e of deliveries) {
      const lane = e.channel === 'customer' ? `customer:${e.id % CUSTOMER_LANES}` : e.channel;
      byReceiver.set(lane, [...(byReceiver.get(lane) ?? []), e]);
    }
    // When a receiver fails with a retriable error (it is down), the rest of its lane is not
    // tried in this pass: they count as failed with the same error, so an outage costs one
    // attempt per pass instead of one timeout per message, and a pass stays short.
    await Promise.all(
      [...byReceiver.values()].map(async (lane) => {
        let down: unknown;
        for (const e of lane) {
          if (down !== undefined) await failed(e, down);
          else down = await deliver(e);
        }
      }),
    );
    return claimed.length;
  }

  async function loop(): Promise<void> {
    while (running) {
      let handled = 0;
      try {
        handled = await dispatchOnce();
      } catch (err) {
        log.error({ err }, 'outbox pass failed; retrying');
      }
      if (handled === 0 && running) {
        if (woken) {
          woken = false;
          continue;
        }
        await new Promise<void>((resolve) => {
          wakeIdle = resolve;
          void deps.sleep(IDLE_MS, abort.signal).then(resolve, resolve);
        });
        wakeIdle = undefined;
      }
    }
  }

  return {
    stats,
    dispatchOnce,
    start() {
      if (running || stopping) return;
      running = true;
      loopDone = loop();
    },
    wake() {
      woken = true;
      wakeIdle?.();
    },
    stop() {
      stopping ??= (async () => {
        running = false;
        abort.abort();
        wakeIdle?.();
        await loopDone;
        log.info({ ...stats }, 'outbox dispatcher stopped');
      })();
      return stopping;
    },
  };
}
