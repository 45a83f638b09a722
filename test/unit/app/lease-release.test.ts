/**
 * Stopping gives work back (docs/notifications.md, "Leases"). A poll loop stopped while it holds
 * refunds it has not inquired yet releases their leases, so another instance takes them at once
 * instead of a lease later; the inquiry in flight finishes and is recorded. A dispatcher stopped
 * mid-pass finishes the pass and marks every entry, so none stays leased beyond it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RefundStore } from '../../../src/app/ports.js';
import { createRateLimiter } from '../../../src/app/rate-limiter.js';
import { MINUTE, createTestApp, createTestPollLoop, inquiryAnswer, refundKey, type TestApp } from '../../support/app-fixtures.js';
import { createScriptedInquirer, deferred } from '../../support/fakes.js';
import { until } from '../../support/until.js';

const LEASE_MS = 10 * MINUTE;
const fast = { intervalMs: 1, timeoutMs: 5_000 };

describe('lease release on stop', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  const claimableByOther = async (store: RefundStore = app.store) =>
    (await store.claimDue({ owner: 'poller-2', now: app.clock.now(), limit: 10, leaseMs: LEASE_MS })).map((r) => r.id).sort();

  it.each([
    { waitingOn: 'the concurrency cap', over: {} },
    { waitingOn: 'a rate-limit token', over: { concurrency: 2, ratePerSecond: 1 } },
  ])('the poll loop, waiting on $waitingOn, lets the inquiry in flight finish and gives back the refunds it had not started', async ({ over }) => {
    app = await createTestApp();
    await app.track(1, 2, 3);
    const antom = createScriptedInquirer();
    const { ratePerSecond, ...loopOver } = over as { concurrency?: number; ratePerSecond?: number };
    const limiter = ratePerSecond === undefined ? undefined : createRateLimiter({ ratePerSecond, clock: app.clock, sleep: app.clock.sleep });
    const loop = createTestPollLoop(app, antom, { ...loopOver, ...(limiter ? { limiter } : {}) });
    loop.start();
    await until(() => antom.asked.length === 1, { ...fast, message: 'the first inquiry is in flight' });
    // While it runs, all three are held: nobody else may take them.
    expect(await claimableByOther()).toEqual([]);

    const stopped = loop.stop();
    const refund = (await app.store.getRefund(refundKey(1)))!;
    antom.answer(refundKey(1), inquiryAnswer(refund, 'PENDING', app.clock.now()));
    await stopped;

    expect(antom.asked).toEqual([refundKey(1)]);
    expect(await app.store.getRefund(refundKey(1))).toMatchObject({ inquiries: 1, lastRefundStatus: 'PENDING' });
    // Due at once, at the same instant, for another instance; the one just inquired is not due yet.
    expect(await claimableByOther()).toEqual([refundKey(2), refundKey(3)]);
  });

  // Refunds claimed by a claim that lands while the loop is stopping are given back before stop()
  // resolves (a store closed right after stop() must not leave them to wait out the lease).
  it('a claim that lands while the loop stops is given back before stop() resolves', async () => {
    app = await createTestApp();
    await app.track(1, 2, 3);
    const claimGate = deferred();
    let claims = 0;
    // A store whose claim waits for the test, and whose writes take a turn of the event loop (a
    // network round trip, as on PostgreSQL).
    const store: RefundStore = {
      ...app.store,
      async claimDue(options) {
        claims += 1;
        await claimGate.promise;
        return app.store.claimDue(options);
      },
      async releaseLease(key, owner) {
        await new Promise((resolve) => setImmediate(resolve));
        return app.store.releaseLease(key, owner);
      },
    };
    const antom = createScriptedInquirer();
    const loop = createTestPollLoop(app, antom, { store });
    loop.start();
    await until(() => claims === 1, { ...fast, message: 'the first claim is in flight' });

    const stopped = loop.stop();
    claimGate.resolve();
    await stopped;

    expect(antom.asked).toEqual([]);
    expect(await claimableByOther()).toEqual([refundKey(1), refundKey(2), refundKey(3)]);
  });

  it('a dispatcher stopped mid-pass finishes the pass and leaves nothing leased beyond it', async () => {
    app = await createTestApp();
    const { clock, slack, email, dispatcher } = app;
    await app.track(1, 2, 3, 4);
    for (const n of [1, 2, 3, 4]) await app.complete(n);
    // The first Slack call hangs, then fails: the ops lines are still pending when the pass ends.
    slack.down('retriable');
    const slow = slack.holdNext();

    const passAt = clock.now();
    dispatcher.start();
    await slow.reached;
    const stopped = dispatcher.stop();
    slow.release();
    await stopped;

    expect(slack.attempts).toBe(1);
    expect(email.sent).toHaveLength(4);
    expect(app.publisher.records).toHaveLength(4);
    const lines = (await app.outbox({ kind: 'delivery' })).filter((e) => e.channel === 'slack:#refunds');
    expect(lines.map((e) => e.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    // As soon as they are due again — well inside the dispatcher's one-minute lease — another
    // dispatcher can take every one of them.
    clock.set(Math.max(...lines.map((e) => e.availableAt)));
    expect(clock.now() - passAt).toBeLessThan(MINUTE);
    const taken = await app.store.claimOutbox({ owner: 'dispatcher-2', now: clock.now(), limit: 100, leaseMs: MINUTE });
    expect(taken.map((e) => e.id).sort()).toEqual(lines.map((e) => e.id).sort());
  });
});

