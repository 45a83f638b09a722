/**
 * Delivers the outbox: outcome events to Kafka (marked sent only after the broker acknowledged
 * them), notices left by an earlier version routed into deliveries, deliveries sent. Entries are
 * claimed under a lease, so several dispatchers (instances) never send the same entry at the same
 * moment, and a crashed one's entries are sent by the next. Delivery is at-least-once: a crash
 * between the broker's ack and the `sent` mark resends the same record with the same event id.
 *
 * The parts: outbox/leases.ts (what a pass holds, renewed while it runs), outbox/marks.ts (how a
 * result is recorded), outbox/send-deliveries.ts (backlog summaries and lanes); the loop is the
 * shared background loop (background-loop.ts).
 */
import type { Logger } from 'pino';
import { exponentialBackoff } from '../domain/backoff.js';
import type { Notice } from '../domain/notice.js';
import { createBackgroundLoop, type BackgroundLoop } from './background-loop.js';
import type { BacklogCoalescer } from './notify/coalesce-backlog.js';
import type { FallbackPlanner } from './notify/fall-back.js';
import type { DeliveryPlanner } from './notify/plan-deliveries.js';
import type { DeliverySender } from './notify/send-delivery.js';
import { createHeldLeases } from './outbox/leases.js';
import { EVENT_RETRY_MAX_MS, createOutboxMarks, type DeliveryWatch, type DispatchStats } from './outbox/marks.js';
import { createDeliveryPass } from './outbox/send-deliveries.js';
import type { Observations } from './observations.js';
import type { EventPayload } from './outbox-entries.js';
import type { Clock, EventPublisher, OutboxEntry, OutboxEntryInput, OutboxKind, RefundStore } from './ports.js';
import type { Sleep } from './rate-limiter.js';
import { outboxTraceLogFields } from './tracing.js';

export type { DeliveryWatch, DispatchStats } from './outbox/marks.js';

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
  /** Routes the notices an earlier version left in the outbox (today's are routed when decided). */
  planDeliveries?: DeliveryPlanner;
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
  /** Decision → acknowledged, per outcome event (observations.ts). */
  observations?: Observations;
}

const DEFAULT_GIVE_UP_MS = 24 * 60 * 60_000;
// 200 entries a pass: one producer request for the events of a busy second at 500 inquiries/s.
const DEFAULT_BATCH = 200;
// How long a claimed batch is ours. A healthy pass takes seconds (one producer request; Slack and
// SMTP calls with 10–30 s timeouts, a failing receiver tried once per pass); the lease is renewed
// every third of it while the pass runs, so only a holder that died (or lost the store for that
// long) loses its entries, and they are picked up a minute after its last renewal.
const LEASE_MS = 60_000;
const IDLE_MS = 500;

/** Events and notices retry from 0.5 s, doubling to a minute: an outcome must reach the mesh. */
const eventRetryMs = (entry: OutboxEntry) => exponentialBackoff(entry.attempts, { baseMs: 500, capMs: EVENT_RETRY_MAX_MS });

export function createOutboxDispatcher(deps: OutboxDispatcherDeps): OutboxDispatcher {
  const log = deps.logger.child({ component: 'outbox' });
  const stats: DispatchStats = { published: 0, delivered: 0, planned: 0, retried: 0, dead: 0, fallbacks: 0, coalesced: 0 };
  const { store, owner } = deps;
  const leaseMs = deps.leaseMs ?? LEASE_MS;
  const kinds = deps.kinds ?? (['event', 'notice', 'delivery'].filter(
    (k) => k === 'event' || (k === 'notice' && deps.planDeliveries) || (k === 'delivery' && deps.deliver),
  ) as OutboxKind[]);
  // Created below, once dispatchOnce exists; a refused mark is retried only while it runs.
  let loop: BackgroundLoop | undefined;
  const held = createHeldLeases({ store, owner, leaseMs, clock: deps.clock, sleep: deps.sleep, log });
  const marks = createOutboxMarks({
    store,
    owner,
    clock: deps.clock,
    sleep: deps.sleep,
    log,
    stats,
    held,
    fallbackFor: deps.fallbackFor,
    watch: deps.watch,
    giveUpAfter: deps.giveUpAfterMs ?? (() => DEFAULT_GIVE_UP_MS),
    running: () => loop?.isRunning() ?? false,
    signal: () => loop?.signal,
  });
  const claim = () => ({ owner, now: deps.clock.now(), leaseMs });
  const deliverAll = deps.deliver ? createDeliveryPass({ store, send: deps.deliver, coalesce: deps.coalesce, marks, held, stats, log, claim }) : undefined;

  async function publishEvents(entries: OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await deps.publisher.publish(entries.map((e) => ({ topic: e.channel, ...(e.payload as EventPayload) })));
    } catch (err) {
      log.warn({ err, events: entries.length }, 'publishing outcome events failed; will retry');
      for (const e of entries) await marks.retryLater(e, err, eventRetryMs(e));
      return;
    }
    // An event entry is created by the decision that queued it, at the decision's time.
    const acked = deps.clock.now();
    for (const e of entries) deps.observations?.eventDelay.observe({ topic: e.channel }, (acked - e.createdAt) / 1000);
    await marks.markSent(entries);
    stats.published += entries.length;
  }

  /** Routes every notice of the pass, then writes all their deliveries in one transaction. */
  async function planNotices(entries: OutboxEntry[]): Promise<void> {
    if (entries.length === 0 || !deps.planDeliveries) return;
    const planned: Array<{ doneId: number; refundKey: string; entries: OutboxEntryInput[] }> = [];
    for (const entry of entries) {
      try {
        planned.push({ doneId: entry.id, refundKey: entry.refundKey, entries: deps.planDeliveries(entry.payload as Notice, deps.clock.now()) });
      } catch (err) {
        log.error({ err, entry: entry.dedupeKey, ...outboxTraceLogFields(entry.payload) }, 'planning notifications failed; will retry');
        await marks.retryLater(entry, err, eventRetryMs(entry));
      }
    }
    await marks.persist('expand', () => store.expandOutbox(planned, deps.clock.now(), owner));
    for (const p of planned) held.release(p.doneId);
    stats.planned += planned.reduce((n, p) => n + p.entries.length, 0);
  }

  async function dispatchOnce(): Promise<number> {
    const claimed = await store.claimOutbox({ ...claim(), limit: deps.batchSize ?? DEFAULT_BATCH, kinds });
    if (claimed.length === 0) return 0;
    held.hold(claimed.map((e) => e.id));
    const stopRenewing = held.renewWhileRunning();
    try {
      await publishEvents(claimed.filter((e) => e.kind === 'event'));
      await planNotices(claimed.filter((e) => e.kind === 'notice'));
      await deliverAll?.(claimed.filter((e) => e.kind === 'delivery'));
    } finally {
      await stopRenewing();
      held.clear();
    }
    return claimed.length;
  }

  loop = createBackgroundLoop({ name: 'outbox', logger: log, sleep: deps.sleep, round: dispatchOnce, idleMs: () => IDLE_MS, errorBackoffMs: IDLE_MS });
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
