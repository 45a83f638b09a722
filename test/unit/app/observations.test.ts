/**
 * What the use cases measure for the dashboard and the alerts (src/app/observations.ts): the
 * histograms' arithmetic, and that the poll loop, the notification receiver, the deadline sweep and
 * the dispatcher each count what they should, on the injected clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDurationHistogram, createObservations, observeDecision, type DurationSeries, type Observations } from '../../../src/app/observations.js';
import type { Decision } from '../../../src/domain/decide.js';
import type { TrackedRefund } from '../../../src/domain/refund.js';
import { HOUR, SCHEDULE, SECOND, createTestApp, createTestPollLoop, inquiryAnswer, refundKey, type TestApp } from '../../support/app-fixtures.js';
import { createScriptedInquirer } from '../../support/fakes.js';
import { until } from '../../support/until.js';

const fast = { intervalMs: 1, timeoutMs: 5_000 };

function only<L extends string>(series: Iterable<DurationSeries<L>>): DurationSeries<L>[] {
  return [...series];
}

describe('a duration histogram', () => {
  it('counts each duration in the first bucket whose bound holds it, above every bound in the last', () => {
    const h = createDurationHistogram(['kind'], [0.1, 1, 10]);
    for (const seconds of [0.05, 0.1, 0.5, 1, 9.9, 10, 11, 3_600]) h.observe({ kind: 'a' }, seconds);
    const [series] = only(h.series());
    expect(series).toEqual({ labels: { kind: 'a' }, counts: [2, 2, 2, 2], sum: 0.05 + 0.1 + 0.5 + 1 + 9.9 + 10 + 11 + 3_600, count: 8 });
  });

  it('keeps one series per label set, counts a negative duration as 0 and ignores a non-number', () => {
    const h = createDurationHistogram(['api', 'kind'], [1]);
    h.observe({ api: 'v2', kind: 'pending' }, 0.5);
    h.observe({ api: 'v2', kind: 'pending' }, -3);
    h.observe({ api: 'v1', kind: 'pending' }, 2);
    h.observe({ api: 'v1', kind: 'pending' }, Number.NaN);
    expect(only(h.series())).toEqual([
      { labels: { api: 'v2', kind: 'pending' }, counts: [2, 0], sum: 0.5, count: 2 },
      { labels: { api: 'v1', kind: 'pending' }, counts: [0, 1], sum: 2, count: 1 },
    ]);
  });

  it("starts a refund's clock when it was tracked if its initiatedAt does not parse", () => {
    const o = createObservations();
    const before = { status: 'pending', initiatedAt: 'yesterday', recordedAt: 1_000_000, escalated: false } as unknown as TrackedRefund;
    const decision = { next: { ...before, status: 'completed', detectedBy: 'notify' }, outcome: 'completed', timeline: [], events: [], notices: [] } as unknown as Decision;
    observeDecision(o, before, decision, 1_060_000);
    expect(only(o.initiatedToFinal.series())).toMatchObject([{ labels: { outcome: 'completed', detected_by: 'notify' }, sum: 60, count: 1 }]);
  });
});

describe('what the use cases observe', () => {
  let app: TestApp;
  let observations: Observations;
  afterEach(async () => app?.close());

  async function start() {
    observations = createObservations();
    app = await createTestApp({ observations });
  }

  it('an inquiry: its latency on the injected clock, by flavour and by what the answer meant; a traffic limit is counted', async () => {
    await start();
    await app.track(1, 2);
    const antom = createScriptedInquirer();
    const loop = createTestPollLoop(app, antom, { observations });
    loop.start();
    try {
      await until(() => antom.asked.length === 1, { ...fast, message: 'the first inquiry is in flight' });
      const first = (await app.store.getRefund(refundKey(1)))!;
      app.clock.advance(250);
      antom.answer(refundKey(1), inquiryAnswer(first, 'PENDING', app.clock.now()));
      await until(() => antom.asked.length === 2, { ...fast, message: 'the second inquiry is in flight' });
      app.clock.advance(2 * SECOND);
      antom.answer(refundKey(2), { kind: 'transport-error', api: 'v2', error: 'http-status', httpStatus: 429, message: 'HTTP 429' });
      await until(() => loop.stats.applied === 2, { ...fast, message: 'both answers written' });
    } finally {
      await loop.stop();
    }
    expect(loop.stats.trafficLimited).toBe(1);
    const byKind = Object.fromEntries(only(observations.inquiry.series()).map((s) => [`${s.labels.api}/${s.labels.kind}`, s]));
    expect(Object.keys(byKind).sort()).toEqual(['v2/pending', 'v2/retry']);
    expect(byKind['v2/pending']).toMatchObject({ sum: 0.25, count: 1 });
    // 0.25 s falls in the bucket bounded by 0.25; 2 s in the one bounded by 2.5.
    expect(byKind['v2/pending']!.counts[observations.inquiry.bounds.indexOf(0.25)]).toBe(1);
    expect(byKind['v2/retry']!.counts[observations.inquiry.bounds.indexOf(2.5)]).toBe(1);
  });

  it('initiated→final, once per refund made final, by outcome and by who saw it (poll or notify)', async () => {
    await start();
    await app.track(1);
    const antom = createScriptedInquirer();
    const loop = createTestPollLoop(app, antom, { observations });
    loop.start();
    try {
      await until(() => antom.asked.length === 1, { ...fast, message: 'the inquiry is in flight' });
      const refund = (await app.store.getRefund(refundKey(1)))!;
      antom.answer(refundKey(1), inquiryAnswer(refund, 'SUCCESS', app.clock.now()));
      await until(() => loop.stats.applied === 1, { ...fast, message: 'the answer is written' });
    } finally {
      await loop.stop();
    }
    await app.track(2);
    app.clock.advance(HOUR);
    expect(await app.complete(2)).toEqual({ status: 'applied' });
    // A repeated notification changes nothing, and is not counted again.
    expect(await app.complete(2)).toEqual({ status: 'already-final' });

    // newRefund's initiatedAt is 2026-11-25T10:00:00Z; the fake clock starts on 2026-12-01 at 10:00.
    const sixDays = 6 * 24 * 3_600;
    expect(only(observations.initiatedToFinal.series())).toEqual([
      expect.objectContaining({ labels: { outcome: 'completed', detected_by: 'poll' }, sum: sixDays, count: 1 }),
      expect.objectContaining({ labels: { outcome: 'completed', detected_by: 'notify' }, sum: sixDays + 3_600, count: 1 }),
    ]);
    expect(observations.transitions).toEqual({ stalled: 0, givenUp: 0 });
  });

  it('an outcome event: from the decision that queued it to the broker acknowledging it, retries included', async () => {
    let refuse = true;
    observations = createObservations();
    app = await createTestApp({
      observations,
      dispatcher: {
        publisher: {
          async publish() {
            if (refuse) throw new Error('broker unavailable');
          },
        },
      },
    });
    await app.track(1);
    await app.complete(1);
    app.clock.advance(1_500);
    await app.dispatcher.dispatchOnce();
    expect(only(observations.eventDelay.series())).toEqual([]);
    refuse = false;
    app.clock.advance(2 * SECOND);
    await app.dispatch();
    expect(app.dispatcher.stats.published).toBe(1);
    expect(only(observations.eventDelay.series())).toMatchObject([{ labels: { topic: 'refunds.completed' }, sum: 3.5, count: 1 }]);
  });

  it('stalled and given up: each refund counted once, by the decision that did it', async () => {
    await start();
    await app.track(1, 2);
    app.clock.advance(SCHEDULE.stalledAfterMs + SECOND);
    expect(await app.sweepDeadlines()).toBe(2);
    expect(await app.sweepDeadlines()).toBe(0);
    expect(observations.transitions).toEqual({ stalled: 2, givenUp: 0 });
    app.clock.advance(SCHEDULE.giveUpAfterMs);
    expect(await app.sweepDeadlines()).toBe(2);
    expect(observations.transitions).toEqual({ stalled: 2, givenUp: 2 });
  });
});
