/**
 * Retention (docs/store.md, "Retention"): customer data is erased CUSTOMER_DATA_RETENTION after a
 * refund became final, its history HISTORY_RETENTION after; the refund row stays as a tombstone, so
 * a replayed record neither tracks it again nor emails the customer twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRetention } from '../../../src/app/retention.js';
import { quietLogger } from '../../support/fakes.js';
import { createTestApp, refundKey, type TestApp } from '../../support/app-fixtures.js';

const DAY = 24 * 60 * 60_000;

describe('retention', () => {
  let app: TestApp;
  afterEach(async () => {
    await app?.close();
  });

  it('erases the customer after 30 days and the history after 90, and a replayed record changes nothing', async () => {
    app = await createTestApp();
    const retention = createRetention({ store: app.store, clock: app.clock, logger: quietLogger, customerDataMs: 30 * DAY, historyMs: 90 * DAY });
    await app.track(1, 2);
    await app.complete(1);
    await app.dispatch();
    const address = (await app.store.getRefund(refundKey(1)))!.customer!.email!;
    expect(app.email.sent.filter((m) => m.to.includes(address))).toHaveLength(1);
    const mentions = async () => (await app.outbox({ refundKey: refundKey(1) })).filter((e) => JSON.stringify(e.payload).includes(address)).length;
    expect(await mentions()).toBeGreaterThan(0);

    // Not yet: 29 days after it became final.
    app.clock.advance(29 * DAY);
    expect(await retention()).toMatchObject({ erased: 0, refunds: 0 });
    expect((await app.store.getRefund(refundKey(1)))!.customer?.email).toBe(address);

    app.clock.advance(2 * DAY);
    expect(await retention()).toMatchObject({ erased: 1, refunds: 0 });
    expect((await app.store.getRefund(refundKey(1)))!.customer?.email).toBeUndefined();
    expect(await mentions()).toBe(0);
    // Refund 2 is still pending: its customer stays.
    expect((await app.store.getRefund(refundKey(2)))!.customer?.email).toBeDefined();

    app.clock.advance(60 * DAY);
    expect(await retention()).toMatchObject({ erased: 0, refunds: 1 });
    expect((await app.store.timeline(refundKey(1))).map((e) => e.kind)).toEqual(['tracked']);

    // The record is replayed (a topic re-read from the start): the tombstone keeps it out.
    await app.track(1);
    await app.complete(1).catch(() => undefined);
    await app.dispatch();
    expect((await app.store.getRefund(refundKey(1)))!).toMatchObject({ status: 'completed' });
    expect(app.email.sent.filter((m) => m.to.includes(address))).toHaveLength(1);
  });
});
