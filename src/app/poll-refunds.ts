import type { Logger } from 'pino';
import type { Classification } from '../domain/classify.js';
import type { InquiryOutcome } from '../domain/inquiry.js';
import type { TrackedRefund } from '../domain/refund.js';
import type { Random, ScheduleSettings } from '../domain/schedule.js';
import { createBackgroundLoop, type BackgroundLoop } from './background-loop.js';
import { createCommitDecision } from './commit-decision.js';
import { createGroupCommit } from './group-commit.js';
import type { Observations } from './observations.js';
import type { NoticeRouter, OutcomeTopics } from './outbox-entries.js';
import { createInquireOne, type AnswerRecorder, type InquiryCounters, type RefundInquirer } from './poll-inquiry.js';
import type { Clock, RefundStore, Tracing } from './ports.js';
import type { RateLimiter, Sleep } from './rate-limiter.js';

export interface PollStats extends InquiryCounters {
  claims: number;
}

export interface PollLoop {
  start(): void;
  /** Stops claiming, lets in-flight inquiries finish, gives back unstarted leases. Idempotent. */
  stop(): Promise<void>;
  /** Wakes the loop early (a refund was tracked or re-checked). */
  wake(): void;
  readonly stats: Readonly<PollStats>;
  isRunning(): boolean;
}

export interface PollLoopDeps {
  store: RefundStore;
  antom: RefundInquirer;
  classify: (outcome: InquiryOutcome) => Classification;
  limiter: RateLimiter;
  clock: Clock;
  random: Random;
  sleep: Sleep;
  logger: Logger;
  schedule: ScheduleSettings;
  topics: OutcomeTopics;
  /** Routes notices to deliveries at decision time (see decisionOutbox). */
  routeNotice?: NoticeRouter;
  /** Which inquiryRefund flavour: v2 asks by refundId only; v1 by either id, with the account. */
  api: 'v1' | 'v2';
  /** Inquiries in flight, at most (ANTOM_CONCURRENCY). */
  concurrency: number;
  /** This instance's lease owner id. */
  owner: string;
  /** Antom's per-request timeout: leases outlast it. */
  requestTimeoutMs: number;
  /** How long a traffic-limit answer slows the whole instance, and by how much. */
  slowDownMs?: number;
  slowDownFactor?: number;
  /** Called after a decision queued outbox entries, so the dispatcher wakes at once. */
  onOutbox?: () => void;
  /** Each answer's classification and latency (antom-health.ts). */
  answers?: AnswerRecorder;
  /** Inquiry latency and what the decisions did, for the metrics (observations.ts). */
  observations?: Observations;
  /** A span per inquiry, in the refund's trace (docs/operations.md, "Tracing"); none recorded without. */
  tracing?: Tracing;
}

// When nothing is due, sleep until the next due time but never longer than this, so a refund
// made due by another process (a second instance, an admin re-check) waits at most a second.
const IDLE_MAX_MS = 1_000;

/**
 * The poll loop: claims refunds that are due, in batches, under a lease; inquires each through the
 * rate limiter and the concurrency cap (one inquiry: poll-inquiry.ts), each decision written with
 * its timeline and outbox entries in one transaction. It runs beside the Kafka consumer, never in
 * it, as a background loop (background-loop.ts) whose round is: claim, then start inquiries.
 */
export function createPollLoop(deps: PollLoopDeps): PollLoop {
  const log = deps.logger.child({ component: 'poll' });
  const stats: PollStats = {
    inquiries: 0,
    byKind: { completed: 0, failed: 0, pending: 0, retry: 0, 'integration-fault': 0, 'not-found': 0 },
    trafficLimited: 0,
    applied: 0,
    superseded: 0,
    errors: 0,
    claims: 0,
  };
  // A claimed refund may wait for a token before its inquiry: claim about half a second of the
  // rate (at least twice the concurrency), and keep the lease well beyond one timeout plus that
  // wait, so a lease never runs out under a healthy holder.
  const claimLimit = Math.max(deps.concurrency * 2, Math.ceil(deps.limiter.currentRate() / 2));
  const leaseMs = deps.requestTimeoutMs * 2 + 30_000;
  const inquireOne = createInquireOne({
    antom: deps.antom,
    classify: deps.classify,
    limiter: deps.limiter,
    clock: deps.clock,
    random: deps.random,
    schedule: deps.schedule,
    api: deps.api,
    slowDownMs: deps.slowDownMs ?? 60_000,
    slowDownFactor: deps.slowDownFactor ?? 0.25,
    commit: createCommitDecision({
      apply: createGroupCommit(deps.store),
      topics: deps.topics,
      routeNotice: deps.routeNotice,
      onOutbox: deps.onOutbox,
      observations: deps.observations,
    }),
    stats,
    answers: deps.answers,
    observations: deps.observations,
    log,
    tracing: deps.tracing,
  });
  let stopping: Promise<void> | undefined;
  // Created below, once the round exists.
  let loop: BackgroundLoop | undefined;
  const running = () => loop?.isRunning() ?? false;
  const inflight = new Set<Promise<void>>();
  let queue: TrackedRefund[] = [];

  /** After a round that found nothing due: until the next refund is due, at most a second. */
  async function idleMs(): Promise<number> {
    const next = await deps.store.nextDueAt(deps.clock.now()).catch(() => undefined);
    return next === undefined ? IDLE_MAX_MS : Math.min(IDLE_MAX_MS, Math.max(10, next - deps.clock.now()));
  }

  /**
   * Claims the next batch. Started when the queue runs low, so the claim (a store round trip that
   * may wait behind a commit) overlaps the inquiries still queued instead of stalling them.
   */
  let refill: Promise<number> | undefined;
  function startRefill(): Promise<number> {
    refill ??= deps.store
      .claimDue({ owner: deps.owner, now: deps.clock.now(), limit: claimLimit, leaseMs })
      .then(async (claimed) => {
        stats.claims += 1;
        // Not yet started when stopping: give them back rather than strand them under a lease.
        // Awaited: stop() waits for this claim, so it resolves only once they are given back.
        if (!running()) {
          await Promise.allSettled(claimed.map((r) => deps.store.releaseLease(r.id, deps.owner)));
          return 0;
        }
        queue.push(...claimed);
        return claimed.length;
      })
      .finally(() => {
        refill = undefined;
      });
    return refill;
  }

  /**
   * One round: claim when nothing is queued, then start inquiries as the rate limiter and the
   * concurrency cap allow, refilling the queue before it runs dry. Resolves to how many inquiries
   * it started (0: nothing was due).
   */
  async function round(signal: AbortSignal): Promise<number> {
    if (queue.length === 0 && (await startRefill()) === 0) return 0;
    let started = 0;
    while (running() && queue.length > 0) {
      if (queue.length <= claimLimit / 2) void startRefill().catch((err: unknown) => log.error({ err }, 'claim failed'));
      if (inflight.size >= deps.concurrency) await Promise.race(inflight);
      if (!(await deps.limiter.acquire(signal))) break;
      if (!running()) break;
      const refund = queue.shift();
      if (!refund) break;
      const task = inquireOne(refund).finally(() => inflight.delete(task));
      inflight.add(task);
      started += 1;
    }
    return started;
  }

  loop = createBackgroundLoop({
    name: 'poll loop',
    logger: log,
    sleep: deps.sleep,
    round,
    idleMs,
    // A claim that failed (the store is down) is tried again after a second.
    errorBackoffMs: IDLE_MAX_MS,
    onError: () => {
      stats.errors += 1;
    },
  });
  const background = loop;

  return {
    stats,
    isRunning: () => background.isRunning(),
    start: () => background.start(),
    wake: () => background.wake(),
    stop() {
      stopping ??= (async () => {
        await background.stop();
        await refill?.catch(() => 0);
        await Promise.allSettled([...inflight]);
        // Refunds claimed but never inquired: give them back so another instance need not wait
        // for the lease to run out.
        const unstarted = queue;
        queue = [];
        await Promise.allSettled(unstarted.map((r) => deps.store.releaseLease(r.id, deps.owner)));
        log.info({ ...stats, released: unstarted.length }, 'poll loop stopped');
      })();
      return stopping;
    },
  };
}
