/**
 * Antom's notifyRefund and the poll loop race for the same refund (src/app/receive-notification.ts):
 * both decide through the same state machine and commit under a version guard, so whichever
 * commits first decides and the other changes nothing. Whatever the order, the outbox holds
 * exactly one outcome event and one customer email, and each goes out once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CUSTOMER_CHANNEL } from '../../../src/app/notify/vocabulary.js';
import type { RefundStore } from '../../../src/app/ports.js';
import { createTestApp, createTestPollLoop, inquiryAnswer, refundKey, refundNotification, type TestApp } from '../../support/app-fixtures.js';
import { createScriptedInquirer, deferred, type ScriptedInquirer } from '../../support/fakes.js';
import { until } from '../../support/until.js';

const fast = { intervalMs: 1, timeoutMs: 5_000 };

describe('the notify/poll race', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  /** Refund 1 tracked and claimed by the poll loop, its inquiry in flight. */
  async function inquiryInFlight(): Promise<{ antom: ScriptedInquirer; loop: ReturnType<typeof createTestPollLoop> }> {
    app = await createTestApp();
    await app.track(1);
    const antom = createScriptedInquirer();
    const loop = createTestPollLoop(app, antom);
    loop.start();
    await until(() => antom.asked.length === 1, { ...fast, message: 'the inquiry is in flight' });
    return { antom, loop };
  }

  /** One outcome event and one customer email in the outbox, and each delivered once. */
  async function expectOneOutcome() {
    const outbox = await app.outbox();
    expect(outbox.filter((e) => e.kind === 'event').map((e) => e.dedupeKey)).toEqual([`event:${refundKey(1)}:refund.completed`]);
    expect(outbox.filter((e) => e.channel === CUSTOMER_CHANNEL)).toHaveLength(1);
    await app.dispatch();
    expect(app.publisher.records.map((r) => r.topic)).toEqual(['refunds.completed']);
    expect(app.email.sent.map((m) => m.to)).toEqual([['c1@example.com']]);
  }

  it.each(['SUCCESS', 'PENDING'] as const)(
    'a notification that finalises the refund while the inquiry is in flight wins; the answer (%s) that arrives after changes nothing',
    async (answer) => {
      const { antom, loop } = await inquiryInFlight();
      const claimed = (await app.store.getRefund(refundKey(1)))!;
      expect(await app.complete(1)).toEqual({ status: 'applied' });

      antom.answer(refundKey(1), inquiryAnswer(claimed, answer, app.clock.now()));
      await loop.stop();

      expect(loop.stats).toMatchObject({ inquiries: 1, applied: 0, superseded: 1 });
      // The notification's state, untouched by the late answer (it was decided on an older version).
      expect(await app.store.getRefund(refundKey(1))).toMatchObject({ status: 'completed', detectedBy: 'notify', inquiries: 0, nextPollAt: undefined });
      const statuses = (await app.store.timeline(refundKey(1))).filter((e) => e.kind === 'status');
      expect(statuses.map((e) => e.message)).toEqual(['completed (detected by notify)']);
      await expectOneOutcome();
    },
  );

  it('an answer committed while a notification is being applied wins; the notification re-reads and writes nothing', async () => {
    const { antom, loop } = await inquiryInFlight();
    // The notification has read the refund and decided; its commit waits until the test lets it go.
    const commitGate = deferred();
    let committing = false;
    const gated: RefundStore = {
      ...app.store,
      async applyDecision(input) {
        committing = true;
        await commitGate.promise;
        return app.store.applyDecision(input);
      },
    };
    const receive = app.receiverOn(gated);
    const claimed = (await app.store.getRefund(refundKey(1)))!;
    const notified = receive(refundNotification(claimed, { status: 'SUCCESS' }, app.clock.now()));
    await until(() => committing, { ...fast, message: 'the notification is committing' });

    antom.answer(refundKey(1), inquiryAnswer(claimed, 'SUCCESS', app.clock.now()));
    await loop.stop();
    expect(loop.stats).toMatchObject({ applied: 1, superseded: 0 });
    commitGate.resolve();

    expect(await notified).toEqual({ status: 'already-final' });
    expect(await app.store.getRefund(refundKey(1))).toMatchObject({ status: 'completed', detectedBy: 'poll', inquiries: 1 });
    const statuses = (await app.store.timeline(refundKey(1))).filter((e) => e.kind === 'status');
    expect(statuses.map((e) => e.message)).toEqual(['completed (detected by poll)']);
    await expectOneOutcome();
  });
});
