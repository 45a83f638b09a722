import type { Logger } from 'pino';
import type { Classification } from '../domain/classify.js';
import { decideAfterInquiry } from '../domain/decide.js';
import type { InquiryOutcome, InquiryQuery } from '../domain/inquiry.js';
import type { TrackedRefund } from '../domain/refund.js';
import type { Random, ScheduleSettings } from '../domain/schedule.js';
import { createGroupCommit } from './group-commit.js';
import { createCommitDecision } from './commit-decision.js';
import type { NoticeRouter, OutcomeTopics } from './outbox-entries.js';
import type { Clock, RefundStore } from './ports.js';
import { createBackgroundLoop, type BackgroundLoop } from './background-loop.js';
import type { RateLimiter, Sleep } from './rate-limiter.js';

/** The Antom side as the poll loop sees it. */
export interface RefundInquirer {
  inquireRefund(query: InquiryQuery): Promise<InquiryOutcome>;
}

export interface PollStats {
  inquiries: number;
  byKind: Record<Classification['kind'], number>;
  applied: number;
  /** Decisions not applied because the refund changed meanwhile (a notification won the race). */
  superseded: number;
  errors: number;
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
}

/**
 * What to ask Antom about a refund, in the flavour it was tracked with (ANTOM_API for refunds
 * tracked before that was recorded): v2 takes refundId only; v1 prefers refundId (it wins anyway).
 */
export function inquiryQuery(refund: TrackedRefund, configured: 'v1' | 'v2'): InquiryQuery {
  const api = refund.antomApi ?? configured;
  if (api === 'v2') return { api, refundId: refund.refundId ?? refund.id };
  return {
    api,
    ...(refund.refundId ? { refundId: refund.refundId } : { refundRequestId: refund.refundRequestId! }),
    ...(refund.merchantAccountId ? { merchantAccountId: refund.merchantAccountId } : {}),
  };
}

// A traffic-limit slow-down lasts at most this many times ANTOM_SLOWDOWN, whatever Retry-After says.
export const SLOWDOWN_MAX_FACTOR = 4;

// When nothing is due, sleep until the next due time but never longer than this, so a refund
// made due by another process (a second instance, an admin re-check) waits at most a second.
const IDLE_MAX_MS = 1_000;

/**
 * The poll loop: claims refunds that are due, in batches, under a lease; inquires each through the
 * rate limiter and the concurrency cap; classifies; decides; and writes the new state, its timeline
 * entries and its outbox entries in one transaction. It runs beside the Kafka consumer, never in it.
 */
export function createPollLoop(deps: PollLoopDeps): PollLoop {
  const log = deps.logger.child({ component: 'poll' });
  const stats: PollStats = {
    inquiries: 0,
    byKind: { completed: 0, failed: 0, pending: 0, retry: 0, 'integration-fault': 0, 'not-found': 0 },
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
  const slowDownMs = deps.slowDownMs ?? 60_000;
  const slowDownFactor = deps.slowDownFactor ?? 0.25;

  const commit = createCommitDecision({
    apply: createGroupCommit(deps.store),
    topics: deps.topics,
    ...(deps.routeNotice ? { routeNotice: deps.routeNotice } : {}),
    ...(deps.onOutbox ? { onOutbox: deps.onOutbox } : {}),
  });
  let stopping: Promise<void> | undefined;
  // Created below, once the round exists.
  let loop: BackgroundLoop | undefined;
  const running = () => loop?.isRunning() ?? false;
  const inflight = new Set<Promise<void>>();
  let queue: TrackedRefund[] = [];

  async function inquireOne(refund: TrackedRefund): Promise<void> {
    try {
      const outcome = await deps.antom.inquireRefund(inquiryQuery(refund, deps.api));
      stats.inquiries += 1;
      const classification = deps.classify(outcome);
      stats.byKind[classification.kind] += 1;
      const now = deps.clock.now();
      const decision = decideAfterInquiry(refund, classification, { now, schedule: deps.schedule, random: deps.random });
      if (decision.slowDown) {
        // Antom's Retry-After may lengthen the slow-down, up to SLOWDOWN_MAX_FACTOR times
        // ANTOM_SLOWDOWN: the answer that carries it is not signed, and one bogus header must not
        // slow the instance until a restart.
        const until = now + Math.min(slowDownMs * SLOWDOWN_MAX_FACTOR, Math.max(slowDownMs, decision.slowDown.retryAfterMs ?? 0));
        deps.limiter.slowDown(until, slowDownFactor);
        log.warn({ until: new Date(until).toISOString(), rate: deps.limiter.currentRate() }, 'Antom traffic limit: slowing down');
      }
      const applied = await commit(refund, decision, now);
      if (!applied) {
        stats.superseded += 1;
        log.debug({ refund: refund.id }, 'refund changed during the inquiry; this answer is superseded');
        return;
      }
      stats.applied += 1;
      // "Not yet" is not an error (STYLE.md): debug for pending, info for what changes things.
      const level = classification.kind === 'pending' ? 'debug' : 'info';
      log[level](
        { refund: refund.id, kind: classification.kind, next: decision.patch.nextPollAt ?? null, outcome: decision.outcome },
        'inquiry',
      );
    } catch (err) {
      // The store failed (Antom faults come back as outcomes, not throws). The lease runs out by
      // itself and the refund is inquired again: nothing is lost, at worst an inquiry repeats.
      stats.errors += 1;
      log.error({ err, refund: refund.id }, 'inquiry could not be recorded');
    }
  }

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
      .then((claimed) => {
        stats.claims += 1;
        // Not yet started when stopping: give them back rather than strand them under a lease.
        if (!running()) {
          void Promise.allSettled(claimed.map((r) => deps.store.releaseLease(r.id, deps.owner)));
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
