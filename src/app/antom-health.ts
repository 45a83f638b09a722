import type { Classification } from '../domain/classify.js';
import type { Clock } from './ports.js';

/**
 * Antom's health over the last hour, as this instance saw it: its answers by classification, the
 * share that told nothing about the refund, and how long they took. The poll loop records each
 * answer; the operations console reads the window (docs/operations.md, "Console"). In memory and
 * per instance: a restart starts an empty window, and each instance of a cluster shows its own.
 *
 * Per-minute buckets, so memory stays fixed (60 buckets of a few counters) whatever the rate, and
 * latency is a histogram per bucket: the percentiles are read as the bucket bound they fall under
 * ("p95 ≤ 250 ms"), which is what a person reading the console needs.
 */

export type AnswerKind = Classification['kind'];

export interface AnswerSample {
  readonly kind: AnswerKind;
  /** Antom asked us to slow down (a traffic-limit answer). */
  readonly trafficLimited: boolean;
  readonly latencyMs: number;
}

export interface AntomHealthSnapshot {
  /** The span the figures cover (ms): an hour, or less since this instance started. */
  readonly windowMs: number;
  readonly answers: number;
  readonly byKind: Readonly<Record<AnswerKind, number>>;
  readonly trafficLimited: number;
  /** Answers that told nothing about the refund (retry, integration-fault) over all answers; 0 without answers. */
  readonly errorRate: number;
  /** Upper bounds (ms) the median and the 95th percentile fall under; undefined without answers. */
  readonly latencyP50Ms?: number;
  readonly latencyP95Ms?: number;
  readonly latencyMaxMs?: number;
}

export interface AntomHealthWindow {
  record(sample: AnswerSample): void;
  snapshot(): AntomHealthSnapshot;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/**
 * Histogram bounds (ms): Antom answers in tens to hundreds of ms when healthy; ANTOM_TIMEOUT
 * (10 s by default) bounds the slowest. A wider last bucket only says "slower than 10 s".
 */
export const LATENCY_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, Number.POSITIVE_INFINITY] as const;
const KINDS: readonly AnswerKind[] = ['completed', 'failed', 'pending', 'not-found', 'retry', 'integration-fault'];
const ERROR_KINDS: ReadonlySet<AnswerKind> = new Set<AnswerKind>(['retry', 'integration-fault']);

interface Bucket {
  minute: number;
  byKind: Record<AnswerKind, number>;
  trafficLimited: number;
  latency: number[];
  maxMs: number;
}

const zeroKinds = (): Record<AnswerKind, number> => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<AnswerKind, number>;

export function createAntomHealthWindow(deps: { clock: Clock }): AntomHealthWindow {
  const startedAt = deps.clock.now();
  const buckets: Bucket[] = [];

  /** Drops the buckets older than the window; 60 at most remain. */
  function prune(minute: number): void {
    while (buckets.length > 0 && buckets[0]!.minute <= minute - HOUR_MS / MINUTE_MS) buckets.shift();
  }

  return {
    record(sample) {
      const minute = Math.floor(deps.clock.now() / MINUTE_MS);
      prune(minute);
      let bucket = buckets.at(-1);
      if (!bucket || bucket.minute !== minute) {
        bucket = { minute, byKind: zeroKinds(), trafficLimited: 0, latency: LATENCY_BOUNDS_MS.map(() => 0), maxMs: 0 };
        buckets.push(bucket);
      }
      bucket.byKind[sample.kind] += 1;
      if (sample.trafficLimited) bucket.trafficLimited += 1;
      const ms = Math.max(0, sample.latencyMs);
      bucket.latency[LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound)]! += 1;
      bucket.maxMs = Math.max(bucket.maxMs, ms);
    },
    snapshot() {
      const now = deps.clock.now();
      prune(Math.floor(now / MINUTE_MS));
      const byKind = zeroKinds();
      const latency = LATENCY_BOUNDS_MS.map(() => 0);
      let trafficLimited = 0;
      let maxMs = 0;
      for (const b of buckets) {
        for (const k of KINDS) byKind[k] += b.byKind[k];
        b.latency.forEach((n, i) => (latency[i]! += n));
        trafficLimited += b.trafficLimited;
        maxMs = Math.max(maxMs, b.maxMs);
      }
      const answers = KINDS.reduce((sum, k) => sum + byKind[k], 0);
      const errors = KINDS.filter((k) => ERROR_KINDS.has(k)).reduce((sum, k) => sum + byKind[k], 0);
      const percentile = (p: number): number => {
        const rank = Math.ceil(p * answers);
        let seen = 0;
        for (let i = 0; i < latency.length; i++) {
          seen += latency[i]!;
          if (seen >= rank) return Math.min(LATENCY_BOUNDS_MS[i]!, maxMs);
        }
        return maxMs;
      };
      return {
        windowMs: Math.min(HOUR_MS, now - startedAt),
        answers,
        byKind,
        trafficLimited,
        errorRate: answers === 0 ? 0 : errors / answers,
        ...(answers === 0 ? {} : { latencyP50Ms: percentile(0.5), latencyP95Ms: percentile(0.95), latencyMaxMs: maxMs }),
      };
    },
  };
}
