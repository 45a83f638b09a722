/**
 * A customer is never emailed twice (docs/notifications.md, "Never twice"). A customer email whose
 * last attempt may have reached the mail server — the process died after marking it `sending`, or
 * the connection dropped after the server took the message — is not resent: it is dead "in doubt"
 * and operations get a CUSTOMER_EMAIL_IN_DOUBT report with the Message-ID to look for. And a
 * dispatcher that lost its lease before the send sends nothing: the entry is its new holder's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CUSTOMER_CHANNEL } from '../../../src/app/notify/vocabulary.js';
import type { RefundStore } from '../../../src/app/ports.js';
import { HOUR, MINUTE, SECOND, createTestApp, refundKey, renderers, type TestApp } from '../../support/app-fixtures.js';

describe('customer emails in doubt', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  const customerEntry = async () => (await app.outbox({ kind: 'delivery' })).find((e) => e.channel === CUSTOMER_CHANNEL)!;
  const reports = () => app.slack.posts('#refund-escalations');

  /** Passes whenever something is due, for `ms` of fake time. */
  async function dispatchFor(ms: number): Promise<void> {
    const end = app.clock.now() + ms;
    for (;;) {
      await app.dispatch();
      const next = await app.nextDueAt();
      if (next === undefined || next > end) break;
      app.clock.set(Math.max(app.clock.now(), next));
    }
  }

  it('an email whose previous attempt left its sending mark is not resent: dead, and reported with its Message-ID', async () => {
    app = await createTestApp();
    const { clock, store, email } = app;
    await app.track(1);
    await app.complete(1);
    // Another dispatcher claimed it, marked it `sending`, and died during the send.
    const entry = await customerEntry();
    await store.claimOutbox({ owner: 'crashed', now: clock.now(), limit: 100, leaseMs: MINUTE, kinds: ['delivery'] });
    expect(await store.markOutboxSending(entry.id, clock.now(), 'crashed')).toBe(true);
    clock.advance(MINUTE + SECOND);

    await dispatchFor(72 * HOUR);
    expect(email.attempts).toBe(0);
    expect(await customerEntry()).toMatchObject({ status: 'dead', lastError: expect.stringMatching(/^fell back to slack:#refund-escalations: a previous send started at /) });
    expect(reports()).toHaveLength(1);
    const [report] = reports();
    expect(report!.text).toMatch(new RegExp(`^Integration fault: CUSTOMER_EMAIL_IN_DOUBT while checking refund ${refundKey(1)}`));
    expect(report!.text).toContain('Sent here instead of customer, which failed: a previous send started at');
    // Slack escapes the angle brackets of the Message-ID (mrkdwn); the id itself is there.
    expect(report!.shown).toContain(`Look for Message-ID &lt;${renderers.messageId(entry.dedupeKey).slice(1, -1)}&gt;`);
  });

  it('an email the server may have taken (connection lost after DATA) is tried once, never again, and reported', async () => {
    app = await createTestApp();
    const { email } = app;
    await app.track(1);
    await app.complete(1);
    email.failNext(1, 'in-doubt');

    await dispatchFor(72 * HOUR);
    expect(email.attempts).toBe(1);
    expect(email.sent).toEqual([]);
    expect(await customerEntry()).toMatchObject({ status: 'dead' });
    expect(reports().map((r) => r.text)).toEqual([expect.stringMatching(/^Integration fault: CUSTOMER_EMAIL_IN_DOUBT while checking refund R-000001/)]);
  });

  it('a dispatcher whose lease passed to another before the send sends nothing and marks nothing', async () => {
    let other: Awaited<ReturnType<RefundStore['claimOutbox']>> = [];
    app = await createTestApp({
      // The pass stalls past its lease just before the send, and another dispatcher claims the entry.
      wrapStore: (store) => ({
        ...store,
        async markOutboxSending(id, _now, owner) {
          app.clock.advance(MINUTE + SECOND);
          other = await store.claimOutbox({ owner: 'dispatcher-2', now: app.clock.now(), limit: 100, leaseMs: MINUTE, kinds: ['delivery'] });
          return store.markOutboxSending(id, app.clock.now(), owner);
        },
      }),
    });
    const { email, dispatcher } = app;
    await app.track(1);
    await app.complete(1);

    await app.dispatch();
    expect(other.map((e) => e.channel)).toContain(CUSTOMER_CHANNEL);
    expect(email.attempts).toBe(0);
    const entry = await customerEntry();
    expect(entry.status).toBe('pending');
    expect(entry.sendingAt).toBeUndefined();
    expect(entry.lastError).toBeUndefined();
    expect(dispatcher.stats.dead).toBe(0);
    expect(reports()).toEqual([]);
    expect((await app.outbox()).filter((e) => e.dedupeKey.includes(':fallback:'))).toEqual([]);
  });
});
