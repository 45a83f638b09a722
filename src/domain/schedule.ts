import { exponentialBackoff } from './backoff.js';

/**
 * When to ask Antom again. Pure: the clock and the random source are arguments, so a schedule
 * spanning days is tested in milliseconds (test/unit/schedule.test.ts) and simulated in
 * bench/schedule.ts.
 *
 * The shape, for the defaults (POLL_FIRST_DELAY 5s, POLL_MAX_INTERVAL 30m):
 *   first inquiry 5 s after the refund is recorded; then, while Antom says PENDING, intervals of
 *   15 s, 45 s, 135 s, 405 s, 1,215 s (×3, ±20 % jitter), then every 30 min. Most refunds finish
 *   within minutes, so they are seen within seconds of finishing; a refund that takes days costs
 *   ~48 inquiries a day instead of the 17,280 a fixed 5 s interval would.
 */

export interface ScheduleSettings {
  readonly firstDelayMs: number;
  readonly maxIntervalMs: number;
  readonly stalledAfterMs: number;
  readonly giveUpAfterMs: number;
  /**
   * How long an unknown refund (not found at Antom) is retried before it is stalled and
   * escalated as an integration fault (never failed: a wrong client id looks just like this).
   */
  readonly notFoundGraceMs: number;
  /**
   * A failure read from an F result is confirmed by a second inquiry this long after the first
   * (POLL_CONFIRM_FAILURE_AFTER); default DEFAULT_CONFIRM_FAILURE_AFTER_MS in decide-inquiry.ts.
   */
  readonly confirmFailureAfterMs?: number;
  /** Relative jitter: 0.2 spreads each interval over ±20 %. */
  readonly jitter: number;
}

/** A uniform random number in [0, 1); seeded in tests and simulations. */
export type Random = () => number;

// How much each pending interval grows. bench/schedule compared 2, 3 and 4 against fixed-interval
// polling with the same number of inquiries: with 2 the ladder to the ceiling costs 9 inquiries
// and the 95th percentile of the detection delay lost to fixed polling (0.87× / 1.00×); with 3 it
// costs 6, the median stays 4–32× better and the p95 is 0.94× / 1.06×; 4 makes the median worse
// for little more at the p95.
const PENDING_GROWTH = 3;

// The unit that grows. POLL_FIRST_DELAY may be 0 (inquire at once); the backoff still needs a
// positive step, and one second is the smallest interval worth a signed HTTPS round trip.
const MIN_STEP_MS = 1_000;


export function firstPollAt(recordedAt: number, firstDelayMs: number): number {
  return recordedAt + firstDelayMs;
}

function jittered(ms: number, s: ScheduleSettings, random: Random): number {
  return ms * (1 - s.jitter + 2 * s.jitter * random());
}

function step(s: ScheduleSettings): number {
  return Math.max(s.firstDelayMs, MIN_STEP_MS);
}

/**
 * The interval after the `inquiries`-th inquiry found the refund still pending:
 * step × 3^inquiries, jittered, never above the ceiling. At the ceiling the jitter only spreads
 * downwards: clipping a symmetric jitter would put half the refunds on exactly the ceiling, and
 * refunds recorded together would come back together forever.
 */
export function pendingInterval(inquiries: number, s: ScheduleSettings, random: Random): number {
  const base = exponentialBackoff(Math.max(inquiries, 0) + 1, { baseMs: step(s), capMs: Infinity, factor: PENDING_GROWTH });
  if (base >= s.maxIntervalMs) return slowInterval(s, random);
  return Math.round(Math.min(s.maxIntervalMs, jittered(base, s, random)));
}

/**
 * The interval after `consecutiveErrors` inquiries in a row told nothing (network faults, U
 * answers, traffic limits): its own backoff, from one step, so a short outage costs little delay
 * and a long one little load. Antom's Retry-After, when sent, is a floor, but never above the
 * ceiling: it arrives on unsigned answers (a 429 or 503 from anything between us and Antom), and
 * `Retry-After: 999999999` must not push a refund past its stall and give-up points.
 */
export function retryInterval(
  consecutiveErrors: number,
  s: ScheduleSettings,
  random: Random,
  retryAfterMs?: number,
): number {
  const base = exponentialBackoff(consecutiveErrors, { baseMs: step(s), capMs: Infinity });
  const backoff = Math.min(s.maxIntervalMs, jittered(Math.min(base, s.maxIntervalMs), s, random));
  return Math.round(Math.min(s.maxIntervalMs, Math.max(backoff, retryAfterMs ?? 0)));
}

/**
 * A fault on our side (access denied, wrong key, …) will not heal between two quick inquiries:
 * poll at the ceiling, jittered downwards so refunds do not all return at the same instant.
 */
export function slowInterval(s: ScheduleSettings, random: Random): number {
  return Math.round(s.maxIntervalMs * (1 - s.jitter * random()));
}

export function stalledAt(recordedAt: number, s: ScheduleSettings): number {
  return recordedAt + s.stalledAfterMs;
}

export function giveUpAt(recordedAt: number, s: ScheduleSettings): number {
  return recordedAt + s.giveUpAfterMs;
}

/**
 * The next inquiry time, clamped so the poll loop wakes exactly at the stall point (if not yet
 * stalled) and at the give-up point: the deadlines are kept by the schedule itself, to the second,
 * whatever the current interval.
 */
export function nextPollTime(
  now: number,
  intervalMs: number,
  refund: { recordedAt: number; stalledAt?: number },
  s: ScheduleSettings,
): number {
  let next = now + intervalMs;
  if (refund.stalledAt === undefined) next = Math.min(next, Math.max(now, stalledAt(refund.recordedAt, s)));
  return Math.min(next, Math.max(now, giveUpAt(refund.recordedAt, s)));
}
