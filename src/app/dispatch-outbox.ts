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
}

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
const IDLE_MS = 500;

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
  const stats: DispatchStats = { published: 0, delivered: 0, planned: 0, retried: 0, dead: 0 };
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

  async function planNotice(entry: OutboxEntry): Promise<void> {
    try {
      const deliveries = await deps.planNotice!(entry.payload, entry);
      await deps.store.expandOutbox(entry.id, deliveries, entry.refundKey, deps.clock.now());
      stats.planned += deliveries.length;
    } catch (err) {
      stats.retried += 1;
      log.error({ err, entry: entry.dedupeKey }, 'planning notifications failed; will retry');
      await deps.store.retryOutboxLater(entry.id, {
        nextAttemptAt: deps.clock.now() + backoffMs(entry.attempts, EVENT_RETRY_MAX_MS),
        error: (err as Error).message,
      });
    }
  }

  async function deliver(entry: OutboxEntry): Promise<void> {
    try {
      await deps.deliver!(entry);
      await deps.store.markOutboxSent([entry.id], deps.clock.now());
      stats.delivered += 1;
    } catch (err) {
      const message = (err as Error).message;
      const retryAfterMs = (err as { retryAfterMs?: number }).retryAfterMs;
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
  }

  async function dispatchOnce(): Promise<number> {
    const claimed = await deps.store.claimOutbox({
      owner: deps.owner,
      now: deps.clock.now(),
      limit: batchSize,
      // Long enough for one Kafka send or one SMTP/Slack call with its own timeouts.
      leaseMs: 120_000,
      kinds,
    });
    if (claimed.length === 0) return 0;
    await publishEvents(claimed.filter((e) => e.kind === 'event'));
    for (const e of claimed) if (e.kind === 'notice') await planNotice(e);
    await Promise.all(claimed.filter((e) => e.kind === 'delivery').map((e) => deliver(e)));
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
