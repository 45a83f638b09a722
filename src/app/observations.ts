import type { Classification } from '../domain/classify.js';
import type { Decision } from '../domain/decide.js';
import type { TrackedRefund } from '../domain/refund.js';

/**
 * What the use cases measure beyond their own counters, for the dashboard and the alert rules
 * (docs/operations.md, "Dashboards and alerts"): how long things took, as histograms, and how many
 * refunds this instance's decisions stalled or gave up on. Plain numbers, like the components'
 * stats: the hot paths (an inquiry, an outbox pass) add to an array and pay nothing for the
 * metrics library, which reads these at scrape time (src/adapters/http/metrics.ts).
 *
 * Memory is fixed: each histogram has a few series (every label is a small closed set: an API
 * flavour, a classification, an outcome, an outcome topic), never one per refund.
 */

/** One labelled series of a histogram. */
export interface DurationSeries<L extends string> {
  readonly labels: Readonly<Record<L, string>>;
  /** Observations per bucket, not cumulative: `counts[i]` for bucket `bounds[i]`; the last is above every bound. */
  readonly counts: number[];
  sum: number;
  count: number;
}

export interface DurationHistogram<L extends string> {
  /** Upper bounds in seconds, ascending; the +Inf bucket is implied. */
  readonly bounds: readonly number[];
  readonly labelNames: readonly L[];
  /** Counts one duration; a negative one (clocks of two hosts apart) as 0, a non-number not at all. */
  observe(labels: Readonly<Record<L, string>>, seconds: number): void;
  /** Every series observed so far. */
  series(): Iterable<DurationSeries<L>>;
}

export function createDurationHistogram<L extends string>(labelNames: readonly L[], bounds: readonly number[]): DurationHistogram<L> {
  const byKey = new Map<string, DurationSeries<L>>();
  return {
    bounds,
    labelNames,
    observe(labels, seconds) {
      if (!Number.isFinite(seconds)) return;
      const value = Math.max(0, seconds);
      let key = '';
      for (const name of labelNames) key += `${labels[name]}\u0000`;
      let series = byKey.get(key);
      if (!series) {
        series = { labels: { ...labels }, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
        byKey.set(key, series);
      }
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i++;
      series.counts[i]! += 1;
      series.sum += value;
      series.count += 1;
    },
    series: () => byKey.values(),
  };
}

/**
 * Antom's inquiryRefund, asked to answered: tens to hundreds of milliseconds when healthy, bounded
 * by ANTOM_TIMEOUT (10 s by default); 30 s still places a raised timeout.
 */
export const INQUIRY_BOUNDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Initiated to final: a card refund can settle within seconds, others take days; POLL_STALLED_AFTER
 * (24 h) and POLL_GIVE_UP_AFTER (30 d) frame the slow end. From a second to 30 days, about two
 * buckets per decade, so p50 and p99 are read within a factor of ~3.
 */
export const INITIATED_TO_FINAL_BOUNDS = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 43_200, 86_400, 172_800, 604_800, 2_592_000];

/**
 * Decision to Kafka's acknowledgement of its outcome event: milliseconds when the dispatcher is
 * woken by the decision (a group commit, a wake, one acks=all produce); retries back off to a
 * minute between tries (EVENT_RETRY_MAX_MS), so a broker outage shows as minutes to an hour.
 */
export const EVENT_DELAY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3_600];

export interface Observations {
  /** Antom's inquiryRefund, asked to answered, by flavour and by what the answer meant. */
  readonly inquiry: DurationHistogram<'api' | 'kind'>;
  /** The record's initiatedAt to the decision that made the refund final, by outcome and by who saw it. */
  readonly initiatedToFinal: DurationHistogram<'outcome' | 'detected_by'>;
  /** The decision that queued an outcome event to Kafka acknowledging it, by topic. */
  readonly eventDelay: DurationHistogram<'topic'>;
  /** Refunds this instance's decisions made stalled, and gave up polling. */
  readonly transitions: { stalled: number; givenUp: number };
}

export function createObservations(): Observations {
  return {
    inquiry: createDurationHistogram(['api', 'kind'], INQUIRY_BOUNDS),
    initiatedToFinal: createDurationHistogram(['outcome', 'detected_by'], INITIATED_TO_FINAL_BOUNDS),
    eventDelay: createDurationHistogram(['topic'], EVENT_DELAY_BOUNDS),
    transitions: { stalled: 0, givenUp: 0 },
  };
}

/** One inquiry: `askedAt` and `answeredAt` are epoch ms of the injected clock. */
export function observeInquiry(o: Observations, api: 'v1' | 'v2', kind: Classification['kind'], askedAt: number, answeredAt: number): void {
  o.inquiry.observe({ api, kind }, (answeredAt - askedAt) / 1000);
}

/**
 * A decision that was written: made at `now` about `before`. A refund's clock starts at the
 * record's initiatedAt, or when it was tracked if that does not parse (it always should: the ingest
 * validates it).
 */
export function observeDecision(o: Observations, before: TrackedRefund, decision: Decision, now: number): void {
  const next = decision.next;
  if (decision.outcome) {
    const initiated = Date.parse(before.initiatedAt);
    const start = Number.isFinite(initiated) ? initiated : before.recordedAt;
    o.initiatedToFinal.observe({ outcome: decision.outcome, detected_by: next.detectedBy ?? 'poll' }, (now - start) / 1000);
  }
  if (next.status === 'stalled' && before.status !== 'stalled') o.transitions.stalled += 1;
  if (next.givenUpAt !== undefined && before.givenUpAt === undefined) o.transitions.givenUp += 1;
}
