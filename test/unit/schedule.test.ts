import { describe, expect, it } from 'vitest';
import type { Classification } from '../../src/domain/classify.js';
import type { Decision } from '../../src/domain/decide.js';
import { decideDeadlines } from '../../src/domain/decide-deadlines.js';
import { decideAfterInquiry } from '../../src/domain/decide-inquiry.js';
import { decideAfterNotification } from '../../src/domain/decide-notification.js';
import { refundChanges, type TrackedRefund } from '../../src/domain/refund.js';
import { firstPollAt, pendingInterval, retryInterval, slowInterval, type ScheduleSettings } from '../../src/domain/schedule.js';
import { createRateLimiter } from '../../src/app/rate-limiter.js';
import { seededRandom } from '../../src/domain/random.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const settings: ScheduleSettings = {
  firstDelayMs: 5 * SECOND,
  maxIntervalMs: 30 * MINUTE,
  stalledAfterMs: DAY,
  giveUpAfterMs: 30 * DAY,
  notFoundGraceMs: HOUR,
  jitter: 0.2,
};


const T0 = Date.parse('2026-11-25T00:00:00Z');

function refundAt(recordedAt: number): TrackedRefund {
  return {
    id: 'R-1',
    refundId: 'R-1',
    paymentId: 'P-1',
    initiatedAt: new Date(recordedAt).toISOString(),
    origin: { topic: 't', partition: 0, offset: '0' },
    status: 'pending',
    escalated: false,
    inquiries: 0,
    consecutiveErrors: 0,
    nextPollAt: firstPollAt(recordedAt, settings.firstDelayMs),
    recordedAt,
    updatedAt: recordedAt,
    version: 0,
  };
}

/** The refund as the store holds it after the decision: its next state, one version on. */
function committed(r: TrackedRefund, d: Decision): TrackedRefund {
  return { ...d.next, version: r.version + 1 };
}

const pending: Classification = { kind: 'pending', refundStatus: 'PENDING' };

/** Runs a refund through the schedule with a fake clock: every inquiry happens at its due time. */
function simulate(answer: (n: number, now: number) => Classification, opts: { until?: number; seed?: number } = {}) {
  const random = seededRandom(opts.seed ?? 7);
  let refund = refundAt(T0);
  const inquiries: number[] = [];
  const decisions: Decision[] = [];
  while (refund.nextPollAt !== undefined && refund.nextPollAt <= (opts.until ?? Infinity)) {
    const now = refund.nextPollAt;
    inquiries.push(now);
    const decision = decideAfterInquiry(refund, answer(inquiries.length, now), { now, schedule: settings, random });
    decisions.push(decision);
    refund = committed(refund, decision);
    if (inquiries.length > 100_000) throw new Error('runaway schedule');
  }
  return { refund, inquiries, decisions };
}

describe('the poll schedule over simulated days', () => {
  it('inquires first after POLL_FIRST_DELAY, then backs off ×3 within the jitter bounds up to the ceiling', () => {
    const { inquiries } = simulate(() => pending, { until: T0 + 12 * HOUR });
    expect(inquiries[0]).toBe(T0 + 5 * SECOND);
    const gaps = inquiries.slice(1).map((t, i) => t - inquiries[i]!);
    // Gap k follows inquiry k (1-based): 5 s × 3^k, ±20 %, never above 30 min.
    gaps.forEach((gap, i) => {
      const nominal = Math.min(5 * SECOND * 3 ** (i + 1), 30 * MINUTE);
      expect(gap, `gap ${i + 1}`).toBeGreaterThanOrEqual(Math.floor(Math.min(nominal * 0.8, 30 * MINUTE)) - 1);
      expect(gap, `gap ${i + 1}`).toBeLessThanOrEqual(30 * MINUTE);
      expect(gap, `gap ${i + 1}`).toBeLessThanOrEqual(Math.ceil(nominal * 1.2) + 1);
    });
    // The first minutes are dense, the rest sparse: at 5, 20, 65 and 200 s (nominal), four
    // inquiries in the first 10 minutes, then about two an hour.
    expect(inquiries.filter((t) => t - T0 <= 10 * MINUTE)).toHaveLength(4);
    const lastHour = inquiries.filter((t) => t > T0 + 11 * HOUR);
    expect(lastHour.length).toBeGreaterThanOrEqual(2);
    expect(lastHour.length).toBeLessThanOrEqual(3);
  });

  it('stalls exactly at POLL_STALLED_AFTER, keeps polling at the ceiling, gives up exactly at POLL_GIVE_UP_AFTER', () => {
    const { refund, inquiries, decisions } = simulate(() => pending);
    const stalled = decisions.findIndex((d) => d.events.some((e) => e.type === 'refund.stalled'));
    expect(inquiries[stalled]).toBe(T0 + DAY);
    expect(decisions[stalled]!.events[0]).toMatchObject({ id: 'R-1:refund.stalled:1', data: { stage: 1, status: 'PENDING' } });
    expect(decisions[stalled]!.notices[0]).toMatchObject({ event: 'refund.stalled', stage: 1 });
    // After the stall: at the ceiling (jittered downwards by up to 20 %).
    const after = inquiries.slice(stalled + 1, stalled + 50);
    after.slice(1).forEach((t, i) => expect(t - after[i]!).toBeGreaterThanOrEqual(24 * MINUTE));
    // The last inquiry is exactly at the give-up point; then nothing is due, ever.
    expect(inquiries.at(-1)).toBe(T0 + 30 * DAY);
    expect(decisions.at(-1)!.events.map((e) => e.id)).toEqual(['R-1:refund.stalled:2']);
    expect(refund).toMatchObject({ status: 'stalled', givenUpAt: T0 + 30 * DAY, stalledAt: T0 + DAY });
    expect(refund.nextPollAt).toBeUndefined();
    // Never reported as failed.
    expect(decisions.flatMap((d) => d.events).some((e) => e.type === 'refund.failed')).toBe(false);
    // ~30 days at ~2 an hour after the first day, not 17,280 a day.
    expect(inquiries.length).toBeGreaterThan(1300);
    expect(inquiries.length).toBeLessThan(1800);
  });

  it('a refund that becomes final is never inquired again', () => {
    const { refund, inquiries, decisions } = simulate((n) =>
      n < 4
        ? pending
        : { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'success', refundTime: '2026-11-25T00:03:00Z' },
    );
    expect(inquiries).toHaveLength(4);
    expect(refund).toMatchObject({ status: 'completed', inquiries: 4, detectedBy: 'poll', refundTime: '2026-11-25T00:03:00Z' });
    expect(refund.nextPollAt).toBeUndefined();
    expect(decisions.at(-1)!.events).toMatchObject([{ id: 'R-1:refund.completed', data: { status: 'SUCCESS', inquiries: 4 } }]);
    // And if it is handed to the loop anyway, nothing changes.
    const again = decideAfterInquiry(refund, pending, { now: T0 + DAY, schedule: settings, random: seededRandom(1) });
    expect(again).toEqual({ next: refund, timeline: [], events: [], notices: [] });
    expect(refundChanges(refund, again.next)).toEqual({});
    // One somehow still on the schedule is only taken off it.
    const due = { ...refund, nextPollAt: T0 + DAY };
    expect(refundChanges(due, decideAfterInquiry(due, pending, { now: T0 + DAY, schedule: settings, random: seededRandom(1) }).next)).toEqual({ nextPollAt: null });
  });

  it('jitter stays within ±20 % and spreads refunds recorded together', () => {
    const random = seededRandom(42);
    // After the 3rd inquiry: 5 s × 3^3 = 135 s nominal.
    const samples = Array.from({ length: 2000 }, () => pendingInterval(3, settings, random));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(135 * SECOND * 0.8);
    expect(Math.max(...samples)).toBeLessThanOrEqual(135 * SECOND * 1.2);
    // Spread: the samples cover most of the band, not one value.
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(135 * SECOND * 0.35);
    expect(Math.max(...Array.from({ length: 500 }, () => pendingInterval(40, settings, random)))).toBeLessThanOrEqual(30 * MINUTE);
    const slow = Array.from({ length: 500 }, () => slowInterval(settings, random));
    expect(Math.min(...slow)).toBeGreaterThanOrEqual(24 * MINUTE);
    expect(Math.max(...slow)).toBeLessThanOrEqual(30 * MINUTE);
  });

  it('transient errors back off on their own counter and honour Retry-After; the next answer resets it', () => {
    const random = () => 0.5; // no jitter at the midpoint
    expect([1, 2, 3, 4].map((n) => retryInterval(n, settings, random))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(retryInterval(1, settings, random, 120_000)).toBe(120_000);
    // An absurd Retry-After (it comes on unsigned answers) is held to the ceiling.
    expect(retryInterval(1, settings, random, 999_999_999_000)).toBe(settings.maxIntervalMs);
    const { inquiries, refund } = simulate(
      (n) =>
        n <= 4
          ? { kind: 'retry', reason: 'HTTP 503', slowDown: false, alert: false }
          : n === 5
            ? pending
            : { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok' },
      { seed: 3 },
    );
    expect(refund).toMatchObject({ status: 'completed', consecutiveErrors: 0, inquiries: 6 });
    const gaps = inquiries.slice(1).map((t, i) => t - inquiries[i]!);
    // Four errors: 5, 10, 20, 40 s (±20 %); then a pending answer: back on the pending ladder.
    [5, 10, 20, 40].forEach((s, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(s * SECOND * 0.8);
      expect(gaps[i]).toBeLessThanOrEqual(s * SECOND * 1.2);
    });
  });

  it('a traffic limit asks the instance to slow down, for at least Retry-After', () => {
    const d = decideAfterInquiry(
      refundAt(T0),
      { kind: 'retry', reason: 'REQUEST_TRAFFIC_EXCEED_LIMIT', slowDown: true, retryAfterMs: 90_000, alert: false },
      { now: T0 + 5 * SECOND, schedule: settings, random: seededRandom(1) },
    );
    expect(d.slowDown).toEqual({ retryAfterMs: 90_000 });
    expect(d.next.nextPollAt! - (T0 + 5 * SECOND)).toBeGreaterThanOrEqual(90_000);
  });

  it('a Retry-After of years neither parks the refund past its deadlines nor past the ceiling', () => {
    const now = T0 + 5 * SECOND;
    const d = decideAfterInquiry(
      refundAt(T0),
      { kind: 'retry', reason: 'HTTP 429', slowDown: true, retryAfterMs: 999_999_999 * SECOND, alert: false },
      { now, schedule: settings, random: seededRandom(1) },
    );
    expect(d.next.nextPollAt! - now).toBeLessThanOrEqual(settings.maxIntervalMs);
    expect(d.next.nextPollAt!).toBeLessThan(T0 + settings.stalledAfterMs);
  });

  it('an integration fault polls at the ceiling and raises one alert per code, not one per inquiry', () => {
    const fault: Classification = { kind: 'integration-fault', reasonCode: 'ACCESS_DENIED', message: 'Access is denied' };
    const { inquiries, decisions } = simulate(() => fault, { until: T0 + 6 * HOUR });
    inquiries.slice(2).forEach((t, i) => expect(t - inquiries[i + 1]!).toBeGreaterThanOrEqual(24 * MINUTE));
    const alerts = decisions.flatMap((d) => d.notices);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ event: 'integration.fault', reasonCode: 'ACCESS_DENIED' });
    expect(alerts[0]!.scope).toMatch(/^integration-fault:ACCESS_DENIED:\d+$/);
  });

  it('an unknown refund is retried through the grace window, then stalled and escalated as an integration fault, never failed', () => {
    const notFound: Classification = { kind: 'not-found', reasonCode: 'ORDER_NOT_EXIST', resultCode: 'DPOS_PAYMENT_ORDER_NOT_EXIST', resultMessage: 'The order does not exist' };
    const { inquiries, refund, decisions } = simulate(() => notFound, { until: T0 + 5 * HOUR });
    const past = inquiries.findIndex((t) => t - T0 >= HOUR);
    expect(inquiries[past - 1]! - T0).toBeLessThan(HOUR);
    expect(refund).toMatchObject({ status: 'stalled', reasonCode: 'ORDER_NOT_EXIST', escalated: true });
    expect(refund.nextPollAt).toBeDefined(); // polling goes on: a later answer can still complete it
    const first = decisions[past]!;
    expect(first.outcome).toBeUndefined();
    expect(first.events).toMatchObject([{ type: 'refund.stalled', data: { stage: 1, reasonCode: 'ORDER_NOT_EXIST' } }]);
    expect(first.notices.map((n) => [n.event, n.stage ?? n.reasonCode])).toEqual([
      ['refund.stalled', 1],
      ['integration.fault', 'ORDER_NOT_EXIST'],
    ]);
    // One alert an hour however many refunds are unknown (the scope), and never an outcome.
    expect(first.notices[1]!.scope).toBe(`integration-fault:ORDER_NOT_EXIST:${Math.floor(inquiries[past]! / HOUR)}`);
    expect(decisions.flatMap((d) => d.events).filter((e) => e.type !== 'refund.stalled')).toEqual([]);
    // A later SUCCESS still completes it.
    const done = decideAfterInquiry(refund, { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok' }, { now: T0 + 6 * HOUR, schedule: settings, random: seededRandom(1) });
    expect(done.outcome).toBe('completed');
  });

  describe('a failure read from an F result (it names no refund)', () => {
    const riskReject = (respondedAt: number): Classification => ({
      kind: 'failed',
      reasonCode: 'RISK_REJECT',
      resultCode: 'DPOS_PAYMENT_RISK_REJECT',
      resultMessage: 'Rejected because of risk control',
      escalate: true,
      unconfirmed: { respondedAt },
    });
    const ctxAt = (now: number) => ({ now, schedule: { ...settings, confirmFailureAfterMs: 5 * SECOND }, random: seededRandom(1) });

    it('is asked again before it fails the refund, and a later signed answer confirms it', () => {
      const r = refundAt(T0);
      const first = decideAfterInquiry(r, riskReject(T0 + 5 * SECOND), ctxAt(T0 + 5 * SECOND));
      expect(first.outcome).toBeUndefined();
      expect(first.events).toEqual([]);
      expect(first.notices).toEqual([]);
      expect(refundChanges(r, first.next)).toEqual({ inquiries: 1, unconfirmedFailure: { code: 'RISK_REJECT', respondedAt: T0 + 5 * SECOND }, nextPollAt: T0 + 10 * SECOND });
      const second = decideAfterInquiry(committed(r, first), riskReject(T0 + 10 * SECOND), ctxAt(T0 + 10 * SECOND));
      expect(second.outcome).toBe('failed');
      expect(second.events).toMatchObject([{ type: 'refund.failed', data: { reasonCode: 'RISK_REJECT' } }]);
      expect(second.timeline[0]!.message).toMatch(/failure confirmed/);
    });

    it('a replayed answer (the same signed response-time) does not confirm it', () => {
      const r = refundAt(T0);
      const first = decideAfterInquiry(r, riskReject(T0 + 5 * SECOND), ctxAt(T0 + 5 * SECOND));
      const replay = decideAfterInquiry(committed(r, first), riskReject(T0 + 5 * SECOND), ctxAt(T0 + 10 * SECOND));
      expect(replay.outcome).toBeUndefined();
      expect(replay.events).toEqual([]);
    });

    it('a pending answer in between clears it: the next F starts over', () => {
      const r = refundAt(T0);
      const first = decideAfterInquiry(r, riskReject(T0 + 5 * SECOND), ctxAt(T0 + 5 * SECOND));
      const between = decideAfterInquiry(committed(r, first), pending, ctxAt(T0 + 10 * SECOND));
      expect(refundChanges(committed(r, first), between.next)).toMatchObject({ unconfirmedFailure: null });
      const again = decideAfterInquiry(committed(committed(r, first), between), riskReject(T0 + 20 * SECOND), ctxAt(T0 + 20 * SECOND));
      expect(again.outcome).toBeUndefined();
    });
  });

  describe('what contradicts a known outcome', () => {
    const ctx = { now: T0 + HOUR, schedule: settings, random: seededRandom(1) };
    const completedRefund = (): TrackedRefund => ({ ...refundAt(T0), status: 'completed', finalizedAt: T0 + 60 * SECOND, nextPollAt: undefined });
    const failFor = (code: string): Classification => ({ kind: 'failed', reasonCode: code, resultCode: code, resultMessage: 'x', escalate: true, refundStatus: 'FAIL' });

    it('a notification saying otherwise is escalated once per refund, with both facts, and changes nothing', () => {
      const refund = completedRefund();
      const d = decideAfterNotification(refund, failFor('RISK_REJECT'), ctx);
      expect(d.next).toBe(refund);
      expect(refundChanges(refund, d.next)).toEqual({});
      expect(d.events).toEqual([]);
      expect(d.conflict).toBe('Antom notified FAIL (RISK_REJECT), but the refund was already reported completed');
      expect(d.notices).toMatchObject([{ event: 'integration.fault', reasonCode: 'OUTCOME_CONTRADICTED', scope: 'outcome-contradicted:R-1' }]);
      expect(d.notices[0]!.playbook).toMatch(/Possible double refund/);
    });

    it('a repeat of the known outcome writes nothing', () => {
      const d = decideAfterNotification(completedRefund(), { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok' }, ctx);
      expect(d).toMatchObject({ repeat: true, timeline: [], events: [], notices: [] });
    });

    it('an inquiry answer saying otherwise is escalated the same way', () => {
      const d = decideAfterInquiry(completedRefund(), failFor('REFUND_FAILED'), ctx);
      expect(d.notices).toMatchObject([{ reasonCode: 'OUTCOME_CONTRADICTED' }]);
      expect(d.events).toEqual([]);
    });

    it('a notification for another amount than the tracked one finalises nothing and is escalated', () => {
      const r = { ...refundAt(T0), refundAmount: { currency: 'USD', value: '1250' } };
      const d = decideAfterNotification(r, { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok', refundAmount: { currency: 'USD', value: '125000' } }, ctx);
      expect(d.outcome).toBeUndefined();
      expect(d.events).toEqual([]);
      expect(d.conflict).toBe('Antom notified SUCCESS for $1,250.00, but the refund was initiated for $12.50');
      expect(d.notices).toMatchObject([{ reasonCode: 'NOTIFIED_AMOUNT_DIFFERS' }]);
      // The same amount: finalised, and the event carries what Antom confirmed.
      const ok = decideAfterNotification(r, { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok', refundAmount: { currency: 'USD', value: '1250' }, arn: 'ARN-1' }, ctx);
      expect(ok.outcome).toBe('completed');
      expect(ok.events[0]!.data).toMatchObject({ confirmedRefundAmount: { currency: 'USD', value: '1250' }, arn: 'ARN-1' });
    });

    it('an inquiry that completes a refund for another amount completes it, and tells operations', () => {
      const r = { ...refundAt(T0), refundAmount: { currency: 'EUR', value: '500' } };
      const d = decideAfterInquiry(r, { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok', refundAmount: { currency: 'EUR', value: '400' } }, ctx);
      expect(d.outcome).toBe('completed');
      expect(d.notices.map((n) => n.reasonCode ?? n.event)).toEqual(['refund.completed', 'REFUND_AMOUNT_DIFFERS']);
    });
  });

  it('the sweep applies a deadline missed while nothing polled, once', () => {
    const r = { ...refundAt(T0), nextPollAt: T0 + 40 * DAY };
    const d = decideDeadlines(r, { now: T0 + 31 * DAY, schedule: settings, random: seededRandom(1) })!;
    expect(d.events.map((e) => e.id)).toEqual(['R-1:refund.stalled:1', 'R-1:refund.stalled:2']);
    expect(refundChanges(r, d.next)).toEqual({ status: 'stalled', stalledAt: T0 + 31 * DAY, givenUpAt: T0 + 31 * DAY, escalated: true, nextPollAt: null });
    expect(decideDeadlines(committed(r, d), { now: T0 + 32 * DAY, schedule: settings, random: seededRandom(1) })).toBeUndefined();
  });
});

describe('the rate limiter', () => {
  function fakeTime() {
    let now = 0;
    return {
      clock: { now: () => now },
      sleep: async (ms: number) => {
        now += ms;
      },
      elapsed: () => now,
    };
  }

  it('holds the rate over any second, and slows the instance down on a traffic limit until the window ends', async () => {
    const t = fakeTime();
    const limiter = createRateLimiter({ ratePerSecond: 50, clock: t.clock, sleep: t.sleep });
    for (let i = 0; i < 505; i++) await limiter.acquire();
    // 5 tokens of burst, then 50 a second: 500 more take 10 s.
    expect(t.elapsed()).toBeGreaterThanOrEqual(9_900);
    expect(t.elapsed()).toBeLessThanOrEqual(10_100);

    limiter.slowDown(t.elapsed() + 60_000, 0.25);
    expect(limiter.currentRate()).toBe(12.5);
    const before = t.elapsed();
    for (let i = 0; i < 125; i++) await limiter.acquire();
    expect(t.elapsed() - before).toBeGreaterThanOrEqual(9_900);
    t.clock.now = () => before + 70_000;
    expect(limiter.currentRate()).toBe(50);
  });
});
