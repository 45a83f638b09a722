/**
 * bench/schedule: the adaptive poll schedule against fixed-interval polling, by deterministic
 * simulation (no clock, no I/O: the real decideAfterInquiry with a simulated time).
 *
 *   npx tsx bench/schedule.ts [--refunds 20000] [--seed 42]
 *
 * For refunds whose time to final spreads from seconds to days, it reports inquiries per refund
 * and detection delay (the time from Antom finalising a refund to our inquiry seeing it), p50 and
 * p95, for the schedule with the default settings, and for fixed-interval polling tuned to spend
 * exactly the same number of inquiries in total.
 */
import { parseArgs } from 'node:util';
import type { Classification } from '../src/domain/classify.js';
import { decideAfterInquiry } from '../src/domain/decide-inquiry.js';
import type { TrackedRefund } from '../src/domain/refund.js';
import { firstPollAt, type ScheduleSettings } from '../src/domain/schedule.js';
import { seededRandom } from '../src/domain/random.js';

const { values: args } = parseArgs({ options: { refunds: { type: 'string', default: '20000' }, seed: { type: 'string', default: '42' } } });
const N = Number(args.refunds);

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// The shipped defaults (config/default.yaml).
const settings: ScheduleSettings = {
  firstDelayMs: 5 * S,
  maxIntervalMs: 30 * MIN,
  stalledAfterMs: DAY,
  giveUpAfterMs: 30 * DAY,
  notFoundGraceMs: HOUR,
  jitter: 0.2,
};


const logUniform = (random: () => number, min: number, max: number) => Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min)));

/**
 * Two spreads of time to final. "log-uniform": every order of magnitude from 2 s to 3 days equally
 * likely (a harsh, flat spread). "wallets + cards": what refund mixes tend to look like — most
 * wallet refunds final within a minute, card refunds within hours, a tail of bank transfers over days.
 */
const DISTRIBUTIONS: Record<string, (random: () => number) => number> = {
  'log-uniform 2 s – 3 d': (r) => logUniform(r, 2 * S, 3 * DAY),
  'wallets + cards mix': (r) => {
    const u = r();
    if (u < 0.6) return logUniform(r, 1 * S, 2 * MIN);
    if (u < 0.85) return logUniform(r, 2 * MIN, 6 * HOUR);
    return logUniform(r, 6 * HOUR, 5 * DAY);
  },
};

const COMPLETED: Classification = { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'success' };
const PENDING: Classification = { kind: 'pending', refundStatus: 'PENDING' };

/** Adaptive: the service's own decideAfterInquiry, inquiries at their due times. */
function adaptive(finalAfter: number, random: () => number): { inquiries: number; delay: number } {
  let refund: TrackedRefund = {
    id: 'R',
    refundId: 'R',
    paymentId: 'P',
    initiatedAt: '1970-01-01T00:00:00Z',
    origin: { topic: 't', partition: 0, offset: '0' },
    status: 'pending',
    escalated: false,
    inquiries: 0,
    consecutiveErrors: 0,
    nextPollAt: firstPollAt(0, settings.firstDelayMs),
    recordedAt: 0,
    updatedAt: 0,
    version: 0,
  };
  while (refund.nextPollAt !== undefined) {
    const now = refund.nextPollAt;
    const decision = decideAfterInquiry(refund, now >= finalAfter ? COMPLETED : PENDING, { now, schedule: settings, random });
    refund = decision.next;
    if (decision.outcome) return { inquiries: refund.inquiries, delay: now - finalAfter };
  }
  throw new Error(`refund final after ${finalAfter} ms was never detected`);
}

/** Fixed interval: first inquiry after the same first delay, then every `interval`. */
function fixed(finalAfter: number, interval: number): { inquiries: number; delay: number } {
  const first = settings.firstDelayMs;
  if (finalAfter <= first) return { inquiries: 1, delay: first - finalAfter };
  const k = Math.ceil((finalAfter - first) / interval);
  return { inquiries: k + 1, delay: first + k * interval - finalAfter };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function fmt(ms: number): string {
  if (ms < MIN) return `${(ms / S).toFixed(1)} s`;
  if (ms < HOUR) return `${(ms / MIN).toFixed(1)} min`;
  return `${(ms / HOUR).toFixed(2)} h`;
}

console.log(`bench/schedule: ${N.toLocaleString('en')} refunds per spread, seed ${args.seed}; schedule defaults: first 5s, ceiling 30m, ±20% jitter\n`);
for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
  const random = seededRandom(Number(args.seed));
  const finals = Array.from({ length: N }, () => draw(random));
  const ad = finals.map((t) => adaptive(t, random));
  const budget = ad.reduce((sum, r) => sum + r.inquiries, 0);
  // The fixed interval that spends the same budget (inquiries fall as the interval grows).
  let lo = 1;
  let hi = 10 * DAY;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    const spent = finals.reduce((sum, t) => sum + fixed(t, mid).inquiries, 0);
    if (spent > budget) lo = mid;
    else hi = mid;
  }
  const interval = hi;
  const fx = finals.map((t) => fixed(t, interval));
  const stats = (rs: Array<{ inquiries: number; delay: number }>) => {
    const delays = rs.map((r) => r.delay).sort((a, b) => a - b);
    const inq = rs.map((r) => r.inquiries).sort((a, b) => a - b);
    return { inqP50: percentile(inq, 0.5), inqP95: percentile(inq, 0.95), mean: rs.reduce((s, r) => s + r.inquiries, 0) / rs.length, p50: percentile(delays, 0.5), p95: percentile(delays, 0.95) };
  };
  const a = stats(ad);
  const f = stats(fx);
  console.log(`== ${name}   (time to final p50 ${fmt(percentile([...finals].sort((x, y) => x - y), 0.5))}, p95 ${fmt(percentile([...finals].sort((x, y) => x - y), 0.95))})`);
  console.log(`                         inquiries/refund (mean, p50, p95)   detection delay p50   p95`);
  console.log(`   adaptive (defaults)   ${a.mean.toFixed(1).padStart(6)} ${String(a.inqP50).padStart(6)} ${String(a.inqP95).padStart(6)}          ${fmt(a.p50).padStart(10)}   ${fmt(a.p95).padStart(10)}`);
  console.log(`   fixed every ${fmt(interval).padEnd(9)} ${f.mean.toFixed(1).padStart(6)} ${String(f.inqP50).padStart(6)} ${String(f.inqP95).padStart(6)}          ${fmt(f.p50).padStart(10)}   ${fmt(f.p95).padStart(10)}`);
  console.log(`   ratio fixed/adaptive  delay p50 ×${(f.p50 / Math.max(1, a.p50)).toFixed(1)}, p95 ×${(f.p95 / Math.max(1, a.p95)).toFixed(2)} at the same ${budget.toLocaleString('en')} inquiries\n`);
}
