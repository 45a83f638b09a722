import type { Logger } from 'pino';
import type { Classification } from '../domain/classify.js';
import { decideAfterInquiry } from '../domain/decide-inquiry.js';
import type { InquiryOutcome, InquiryQuery } from '../domain/inquiry.js';
import { nonEmpty, type TrackedRefund } from '../domain/refund.js';
import type { Random, ScheduleSettings } from '../domain/schedule.js';
import type { CommitDecision } from './commit-decision.js';
import type { AnswerSample } from './antom-health.js';
import { observeInquiry, type Observations } from './observations.js';
import type { Clock, TraceSpan, Tracing } from './ports.js';
import type { RateLimiter } from './rate-limiter.js';
import { noTracing } from './tracing.js';

/**
 * One inquiry of one claimed refund, as the poll loop (poll-refunds.ts) runs it: ask Antom in the
 * refund's flavour, classify the answer, decide, slow the whole instance down if Antom asked,
 * and commit the decision under the refund's version.
 */

/** The Antom side as the poll loop sees it. */
export interface RefundInquirer {
  /** `logFields`: what the client adds to its log lines about this inquiry (the refund's trace). */
  inquireRefund(query: InquiryQuery, logFields?: TraceSpan['logFields']): Promise<InquiryOutcome>;
}

// The inquiry span (docs/operations.md, "Tracing"): one per Antom call, a child of the refund's
// trace. Its status is an error when the call told nothing usable: a transport failure, or an
// answer refused (a bad signature, another refund's answer).
const INQUIRY_SPAN = 'antom inquiryRefund';

export interface AnswerRecorder {
  record(sample: AnswerSample): void;
}

/** What the inquiries count (the poll loop adds its claims). */
export interface InquiryCounters {
  inquiries: number;
  byKind: Record<Classification['kind'], number>;
  /** Answers that asked us to slow down (a traffic limit: REQUEST_TRAFFIC_EXCEED_LIMIT, HTTP 429). */
  trafficLimited: number;
  applied: number;
  /** Decisions not applied because the refund changed meanwhile (a notification won the race). */
  superseded: number;
  errors: number;
}

// A traffic-limit slow-down lasts at most this many times ANTOM_SLOWDOWN, whatever Retry-After says.
export const SLOWDOWN_MAX_FACTOR = 4;

/**
 * What to ask Antom about a refund, in the flavour it was tracked with (ANTOM_API for refunds
 * tracked before that was recorded): v2 takes refundId only; v1 prefers refundId (it wins anyway).
 */
export function inquiryQuery(refund: TrackedRefund, configured: 'v1' | 'v2'): InquiryQuery {
  const api = refund.antomApi ?? configured;
  if (api === 'v2') return { api, refundId: refund.refundId ?? refund.id };
  const merchantAccountId = nonEmpty(refund.merchantAccountId);
  return refund.refundId ? { api, refundId: refund.refundId, merchantAccountId } : { api, refundRequestId: refund.refundRequestId!, merchantAccountId };
}

export function createInquireOne(deps: {
  antom: RefundInquirer;
  classify: (outcome: InquiryOutcome) => Classification;
  limiter: RateLimiter;
  clock: Clock;
  random: Random;
  schedule: ScheduleSettings;
  api: 'v1' | 'v2';
  /** How long a traffic-limit answer slows the whole instance, and by how much. */
  slowDownMs: number;
  slowDownFactor: number;
  commit: CommitDecision;
  stats: InquiryCounters;
  /** Each answer's classification and latency (the console's window on Antom's health). */
  answers?: AnswerRecorder;
  /** Each inquiry's latency (the dashboard's). */
  observations?: Observations;
  log: Logger;
  tracing?: Tracing;
}): (refund: TrackedRefund) => Promise<void> {
  const { stats, log } = deps;
  const tracing = deps.tracing ?? noTracing;

  /** Asks Antom and classifies the answer, inside the inquiry span. */
  async function ask(query: InquiryQuery, span: TraceSpan): Promise<Classification> {
    try {
      const outcome = await deps.antom.inquireRefund(query, span.logFields);
      const classification = deps.classify(outcome);
      span.set({ 'antom.outcome': outcome.kind, 'antom.classification': classification.kind, 'http.response.status_code': outcome.httpStatus });
      if (outcome.kind === 'transport-error' || outcome.kind === 'rejected') span.fail(outcome.message);
      return classification;
    } catch (err) {
      span.fail(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      span.end();
    }
  }

  function slowDown(now: number, retryAfterMs: number | undefined): void {
    // Antom's Retry-After may lengthen the slow-down, up to SLOWDOWN_MAX_FACTOR times
    // ANTOM_SLOWDOWN: the answer that carries it is not signed, and one bogus header must not
    // slow the instance until a restart.
    const until = now + Math.min(deps.slowDownMs * SLOWDOWN_MAX_FACTOR, Math.max(deps.slowDownMs, retryAfterMs ?? 0));
    deps.limiter.slowDown(until, deps.slowDownFactor);
    log.warn({ until: new Date(until).toISOString(), rate: deps.limiter.currentRate() }, 'Antom traffic limit: slowing down');
  }

  return async (refund) => {
    const span = tracing.span(INQUIRY_SPAN, refund.origin.traceparent, { 'refund.id': refund.id, 'antom.api': refund.antomApi ?? deps.api }, 'client');
    const trace = span.logFields;
    try {
      const query = inquiryQuery(refund, deps.api);
      const askedAt = deps.clock.now();
      const classification = await ask(query, span);
      stats.inquiries += 1;
      stats.byKind[classification.kind] += 1;
      if (classification.kind === 'retry' && classification.slowDown) stats.trafficLimited += 1;
      const now = deps.clock.now();
      deps.answers?.record({ kind: classification.kind, trafficLimited: classification.kind === 'retry' && classification.slowDown, latencyMs: now - askedAt });
      if (deps.observations) observeInquiry(deps.observations, query.api ?? deps.api, classification.kind, askedAt, now);
      const decision = decideAfterInquiry(refund, classification, { now, schedule: deps.schedule, random: deps.random });
      if (decision.slowDown) slowDown(now, decision.slowDown.retryAfterMs);
      if (!(await deps.commit(refund, decision, now))) {
        stats.superseded += 1;
        log.debug({ refund: refund.id, ...trace }, 'refund changed during the inquiry; this answer is superseded');
        return;
      }
      stats.applied += 1;
      // "Not yet" is not an error (STYLE.md): debug for pending, info for what changes things.
      const level = classification.kind === 'pending' ? 'debug' : 'info';
      log[level]({ refund: refund.id, ...trace, kind: classification.kind, next: decision.next.nextPollAt ?? null, outcome: decision.outcome }, 'inquiry');
    } catch (err) {
      // The store failed (Antom faults come back as outcomes, not throws). The lease runs out by
      // itself and the refund is inquired again: nothing is lost, at worst an inquiry repeats.
      stats.errors += 1;
      log.error({ err, refund: refund.id, ...trace }, 'inquiry could not be recorded');
    }
  };
}
