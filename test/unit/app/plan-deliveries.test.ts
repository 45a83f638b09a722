/**
 * Routing at decision time (src/app/notify/plan-deliveries.ts): a notice with a scope is one alert
 * whichever refund raises it — an integration fault is raised once per code per hour — so its
 * deliveries are written to the outbox once, and operations hear of it once. Notices without a
 * scope are per refund.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decideAfterInquiry } from '../../../src/domain/decide-inquiry.js';
import { classifyInquiry } from '../../../src/domain/classify.js';
import type { VerifiedInquiryAnswer } from '../../../src/domain/inquiry.js';
import { HOUR, SCHEDULE, commitFor, createTestApp, refundKey, resultCodes, type TestApp } from '../../support/app-fixtures.js';

describe('planning deliveries', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  /** Antom refuses the inquiry about refund `n` with ACCESS_DENIED (our side is wrong), and the poll loop records it. */
  async function accessDenied(n: number): Promise<void> {
    const refund = (await app.store.getRefund(refundKey(n)))!;
    const answer: VerifiedInquiryAnswer = {
      kind: 'answer',
      signed: true,
      api: 'v2',
      httpStatus: 200,
      result: { resultCode: 'ACCESS_DENIED', resultStatus: 'F', resultMessage: 'Access is denied' },
      respondedAt: app.clock.now(),
      body: {},
    };
    const now = app.clock.now();
    const decision = decideAfterInquiry(refund, classifyInquiry(answer, resultCodes), { now, schedule: SCHEDULE, random: () => 0.5 });
    expect(decision.notices.map((x) => x.scope)).toEqual([`integration-fault:ACCESS_DENIED:${Math.floor(now / HOUR)}`]);
    expect(await commitFor(app)(refund, decision, now)).toBe(true);
  }

  const faultDeliveries = async () => (await app.outbox({ kind: 'delivery' })).filter((e) => e.dedupeKey.includes(':integration-fault'));

  it.each([
    [1, 2],
    [2, 1],
  ])('an integration fault raised by refunds %i and %i in the same hour is written once, and posted once', async (first, second) => {
    app = await createTestApp();
    await app.track(1, 2, 3);
    await accessDenied(first);
    await accessDenied(second);

    const written = await faultDeliveries();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ channel: 'slack:#refund-escalations', refundKey: refundKey(first) });

    await app.dispatch();
    expect(app.slack.calls.map((c) => c.text)).toEqual([expect.stringMatching(/^1 refund hit integration fault ACCESS_DENIED\b/)]);

    // The next hour is a new alert.
    app.clock.advance(HOUR);
    await accessDenied(3);
    expect((await faultDeliveries()).map((e) => e.refundKey)).toEqual([refundKey(first), refundKey(3)]);
  });

  it('notices without a scope are per refund', async () => {
    app = await createTestApp({ customerEmails: false });
    await app.track(1, 2);
    await app.complete(1);
    await app.complete(2);
    const deliveries = await app.outbox({ kind: 'delivery' });
    expect(deliveries.map((e) => [e.refundKey, e.channel])).toEqual([
      [refundKey(1), 'slack:#refunds'],
      [refundKey(2), 'slack:#refunds'],
    ]);
  });
});
