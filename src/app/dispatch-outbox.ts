import type { Logger } from 'pino';
import { exponentialBackoff } from '../domain/backoff.js';
import { LeaseLostError, isInDoubt, isRetriable, retryAfterOf } from '../domain/errors.js';
import type { EventPayload } from './outbox-entries.js';
import type { Clock, OutboxEntry, OutboxEntryInput, OutboxKind, RefundStore } from './ports.js';
import { createBackgroundLoop, type BackgroundLoop } from './background-loop.js';
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

/**
 * A receiver that keeps failing: the entries that replace the failed delivery, if any.
 * `failingSince` is when this run of failures began (now, for a first failure).
 */
export type FallbackPlanner = (entry: OutboxEntry, err: unknown, timing: { failingSince: number; now: number }) => OutboxEntryInput[] | undefined;

/**
 * Sees every delivery's result (the customer-email outage notices hang off it). Called after the
 * result is recorded; its own failures are logged, never the delivery's.
 */
export interface DeliveryWatch {
  delivered(entry: OutboxEntry): Promise<void>;
  failed(entry: OutboxEntry, err: unknown): Promise<void>;
}

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
  watch?: DeliveryWatch;
  clock: Clock;
  sleep: Sleep;
  logger: Logger;
  owner: string;
  /** Which kinds this dispatcher handles; the others stay pending for a dispatcher that does. */
  kinds?: OutboxKind[];
  batchSize?: number;
  /**
   * How long a delivery keeps retrying temporary failures, from the first failure of the run,
   * before it is given up (dead, visible in /admin): CUSTOMER_EMAIL_GIVE_UP_AFTER for customer
   * emails, NOTIFY_GIVE_UP_AFTER for the rest. Default: a day for everything.
   */
  giveUpAfterMs?: (entry: OutboxEntry) => number;
  /** How long a claim is ours before another dispatcher may take it; renewed while a pass runs. */
  leaseMs?: number;
}

// Events retry forever (an outcome must reach the mesh), backing off to a minute between tries.
const EVENT_RETRY_MAX_MS = 60_000;
// Deliveries back off to 15 minutes between tries: a mail server's own retry interval is of that
// order, and a receiver that answers again is not left waiting that long anyway (the first
// delivery that goes through makes the rest of its backlog due at once; see DeliveryWatch).
const DELIVERY_RETRY_MAX_MS = 15 * 60_000;
// A Retry-After is honoured up to the delivery ceiling: a peer (or anything pretending to be
// one) asking for a year must not park a delivery for a year.
const RETRY_AFTER_MAX_MS = DELIVERY_RETRY_MAX_MS;
const DEFAULT_GIVE_UP_MS = 24 * 60 * 60_000;
// 200 entries a pass: one producer request for the events of a busy second at 500 inquiries/s.
const DEFAULT_BATCH = 200;
// How long a claimed batch is ours. A healthy pass takes seconds (one producer request; Slack and
// SMTP calls with 10–30 s timeouts, a failing receiver tried once per pass); the lease is renewed
// every third of it while the pass runs, so only a holder that died (or lost the store for that
// long) loses its entries, and they are picked up a minute after its last renewal.
const LEASE_MS = 60_000;
const IDLE_MS = 500;
// Customer emails in parallel: the mailer's pool holds 5 SMTP connections.
const CUSTOMER_LANES = 5;
// A mark that fails after a send succeeded is retried, never the send: up to this long between
// tries, for as long as the dispatcher runs.
const MARK_RETRY_MAX_MS = 5_000;

/** 0.5 s after the first failed attempt, doubling to `capMs`. */
export function backoffMs(attempts: number, capMs: number): number {
  return exponentialBackoff(attempts, { baseMs: 500, capMs });
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
  const leaseMs = deps.leaseMs ?? LEASE_MS;
  const owner = deps.owner;
  const giveUpAfter = deps.giveUpAfterMs ?? (() => DEFAULT_GIVE_UP_MS);
  const kinds = deps.kinds ?? (['event', 'notice', 'delivery'].filter(
    (k) => k === 'event' || (k === 'notice' && deps.planNotice) || (k === 'delivery' && deps.deliver),
  ) as OutboxKind[]);
  // Created below, once dispatchOnce exists; persist() reads whether it runs.
  let loop: BackgroundLoop | undefined;
  const running = () => loop?.isRunning() ?? false;
  // Entries claimed by the running pass and not yet settled: their leases are renewed.
  const held = new Set<number>();

  /**
   * Keeps the leases of `held` alive while a pass runs: a pass that takes longer than the lease
   * (a slow SMTP server, a long Slack rate limit) must not let another instance claim and send
   * the same entries.
   */
  function renewWhileRunning(): () => Promise<void> {
    const done = new AbortController();
    const renewing = (async () => {
      while (!done.signal.aborted) {
        await deps.sleep(Math.floor(leaseMs / 3), done.signal);
        if (done.signal.aborted || held.size === 0) continue;
        try {
          const kept = await deps.store.renewOutboxLeases([...held], owner, deps.clock.now() + leaseMs);
          if (kept < held.size) log.warn({ held: held.size, kept }, 'outbox leases lost while a pass ran; those entries are left to their new holder');
        } catch (err) {
          log.warn({ err }, 'renewing outbox leases failed; will try again');
        }
      }
    })();
    return async () => {
      done.abort();
      await renewing;
    };
  }

  /**
   * Writes a mark (sent, retry later, dead, expanded) and retries the write alone if the store
   * refuses it, with backoff, for as long as the dispatcher runs: what was sent is never sent again
   * because its mark failed, and a failure is not forgotten because the store blinked. Should the
   * process stop first, the entries' leases run out and they are claimed again: a customer email
   * then carries its sending mark and is reported in doubt instead of resent.
   */
  async function persist<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!running() && attempt > 3) {
          log.error({ err, mark: what }, 'the store refused an outbox mark; stopping before it took it');
          return undefined;
        }
        log.warn({ err, mark: what, attempt }, 'the store refused an outbox mark; retrying the mark only');
        await deps.sleep(exponentialBackoff(attempt, { baseMs: 200, capMs: MARK_RETRY_MAX_MS }), loop?.signal);
      }
    }
  }

  /** Records that entries went out (their send is never repeated; see persist). */
  async function markSent(entries: readonly OutboxEntry[]): Promise<void> {
    const ids = entries.map((e) => e.id);
    const marked = await persist('sent', () => deps.store.markOutboxSent(ids, deps.clock.now(), owner));
    if (marked !== undefined && marked < ids.length) {
      log.warn({ entries: ids.length, marked }, 'sent, but the lease had passed to another holder; not marked here');
    }
    for (const id of ids) held.delete(id);
  }

  async function publishEvents(entries: OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await deps.publisher.publish(entries.map((e) => ({ topic: e.channel, ...(e.payload as EventPayload) })));
    } catch (err) {
      stats.retried += entries.length;
      const now = deps.clock.now();
      log.warn({ err, events: entries.length }, 'publishing outcome events failed; will retry');
      for (const e of entries) {
        await persist('retry', () =>
          deps.store.retryOutboxLater(e.id, { nextAttemptAt: now + backoffMs(e.attempts, EVENT_RETRY_MAX_MS), error: (err as Error).message, now, owner }),
        );
        held.delete(e.id);
      }
      return;
    }
    await markSent(entries);
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
        const now = deps.clock.now();
        await persist('retry', () =>
          deps.store.retryOutboxLater(entry.id, { nextAttemptAt: now + backoffMs(entry.attempts, EVENT_RETRY_MAX_MS), error: (err as Error).message, now, owner }),
        );
        held.delete(entry.id);
      }
    }
    await persist('expand', () => deps.store.expandOutbox(planned, deps.clock.now(), owner));
    for (const p of planned) held.delete(p.doneId);
    stats.planned += planned.reduce((n, p) => n + p.entries.length, 0);
  }

  /** Sends one delivery; returns the error when the receiver failed in a way worth not repeating. */
  async function deliver(entry: OutboxEntry): Promise<unknown> {
    try {
      await deps.deliver!(entry);
    } catch (err) {
      await failed(entry, err);
      return isRetriable(err) && !isInDoubt(err) ? err : undefined;
    }
    await markSent([entry]);
    stats.delivered += 1;
    await watch('delivered', entry);
    return undefined;
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

  /**
   * A delivery that failed (or was not tried because its receiver just failed): fall back, retry,
   * or give up. A temporary failure is retried until the entry's give-up time, counted from the
   * first failure of the run; a permanent one, or one that may have been delivered anyway (in
   * doubt), is never retried.
   */
  async function failed(entry: OutboxEntry, err: unknown): Promise<void> {
    held.delete(entry.id);
    if (err instanceof LeaseLostError) {
      log.warn({ entry: entry.dedupeKey }, err.message);
      return;
    }
    const message = (err as Error).message;
    const now = deps.clock.now();
    const failingSince = entry.failingSince ?? now;
    const fallback = deps.fallbackFor?.(entry, err, { failingSince, now });
    if (fallback && fallback.length > 0) {
      stats.fallbacks += 1;
      log.error({ err, entry: entry.dedupeKey, to: fallback.map((f) => f.channel) }, 'receiver keeps failing: fell back to another channel');
      const doneError = `fell back to ${fallback.map((f) => f.channel).join(', ')}: ${message}`;
      await persist('fallback', () => deps.store.expandOutbox([{ doneId: entry.id, refundKey: entry.refundKey, entries: fallback, doneError }], now, owner));
      await watch('failed', entry, err);
      return;
    }
    if (!isRetriable(err) || isInDoubt(err) || now - failingSince >= giveUpAfter(entry)) {
      stats.dead += 1;
      log.error({ err, entry: entry.dedupeKey, attempts: entry.attempts, failingSince }, 'delivery given up');
      await persist('dead', () => deps.store.markOutboxDead(entry.id, { error: message, now, owner }));
      await watch('failed', entry, err);
      return;
    }
    stats.retried += 1;
    log.warn({ err, entry: entry.dedupeKey, attempts: entry.attempts }, 'delivery failed; will retry');
    const retryAfterMs = Math.min(RETRY_AFTER_MAX_MS, Math.max(0, retryAfterOf(err) ?? 0));
    const nextAttemptAt = now + Math.max(retryAfterMs, backoffMs(entry.attempts, DELIVERY_RETRY_MAX_MS));
    await persist('retry', () => deps.store.retryOutboxLater(entry.id, { nextAttemptAt, error: message, now, owner }));
    await watch('failed', entry, err);
  }

  async function dispatchOnce(): Promise<number> {
    const claimed = await deps.store.claimOutbox({
      owner,
      now: deps.clock.now(),
      limit: batchSize,
      leaseMs,
      kinds,
    });
    if (claimed.length === 0) return 0;
    for (const e of claimed) held.add(e.id);
    const stopRenewing = renewWhileRunning();
    try {
      await dispatchClaimed(claimed);
    } finally {
      await stopRenewing();
      held.clear();
    }
    return claimed.length;
  }

  async function dispatchClaimed(claimed: OutboxEntry[]): Promise<void> {
    await publishEvents(claimed.filter((e) => e.kind === 'event'));
    await planNotices(claimed.filter((e) => e.kind === 'notice'));
    let deliveries = claimed.filter((e) => e.kind === 'delivery');
    const claimBacklog = async (channel: string, createdBefore: number) => {
      const known = new Set(deliveries.map((e) => e.id));
      const more = await deps.store.claimBacklog({ owner, now: deps.clock.now(), limit: 1000, leaseMs, channel, createdBefore });
      const fresh = more.filter((e) => !known.has(e.id));
      for (const e of fresh) held.add(e.id);
      return fresh;
    };
    for (const summary of (await deps.coalesce?.(deliveries, claimBacklog)) ?? []) {
      const covered = new Set(summary.covers.map((e) => e.id));
      try {
        await summary.send();
      } catch (err) {
        // The receiver is still down: every entry the summary stood for counts as failed with it
        // (not tried one by one in this pass), and waits for the next.
        log.warn({ err, entries: covered.size }, 'backlog summary failed; will retry');
        for (const e of summary.covers) await failed(e, err);
        deliveries = deliveries.filter((e) => !covered.has(e.id));
        continue;
      }
      await markSent(summary.covers);
      stats.coalesced += covered.size;
      deliveries = deliveries.filter((e) => !covered.has(e.id));
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
    const lanes = await Promise.allSettled(
      [...byReceiver.values()].map(async (lane) => {
        let down: unknown;
        for (const e of lane) {
          if (down !== undefined) await failed(e, down);
          else down = await deliver(e);
        }
      }),
    );
    // Every lane has finished before the pass ends (its leases stop being renewed then).
    const broken = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (broken) throw broken.reason;
  }

  loop = createBackgroundLoop({
    name: 'outbox',
    logger: log,
    sleep: deps.sleep,
    round: dispatchOnce,
    idleMs: () => IDLE_MS,
    errorBackoffMs: IDLE_MS,
  });
  const background = loop;
  let stopping: Promise<void> | undefined;

  return {
    stats,
    dispatchOnce,
    start: () => background.start(),
    wake: () => background.wake(),
    stop() {
      stopping ??= (async () => {
        await background.stop();
        log.info({ ...stats }, 'outbox dispatcher stopped');
      })();
      return stopping;
    },
  };
}
