/**
 * After a Slack outage longer than NOTIFY_STALE_AFTER (docs/notifications.md, "After an outage of
 * Slack"): a channel's stale backlog is one summary, not a replay — all of it, more than one
 * dispatcher batch and entries not due yet included. Two are simply sent; customer emails are
 * never summarised; a summary that fails leaves every entry it stood for waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CUSTOMER_CHANNEL } from '../../../src/app/notify/vocabulary.js';
import { MINUTE, SECOND, createTestApp, refundKey, type TestApp } from '../../support/app-fixtures.js';

const BATCH = 5;
const OPS = 'slack:#refunds';

describe('coalescing a stale backlog', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  /**
   * `count` refunds complete, one every 20 s, while Slack is down; the dispatcher tries whenever
   * something is due, and every minute until the last of them has waited NOTIFY_STALE_AFTER.
   */
  async function outage(count: number, options: { customerEmails?: boolean; smtpDown?: boolean } = {}) {
    app = await createTestApp({ customerEmails: options.customerEmails ?? false, dispatcher: { batchSize: BATCH } });
    const { clock, slack, email, settings } = app;
    const ns = Array.from({ length: count }, (_, i) => i + 1);
    await app.track(...ns);
    slack.down('retriable');
    if (options.smtpDown) email.down('retriable');
    for (const n of ns) {
      await app.complete(n);
      await app.dispatch();
      clock.advance(20 * SECOND);
    }
    const allStale = clock.now() + settings.staleAfterMs;
    while (clock.now() <= allStale) {
      clock.advance(MINUTE);
      await app.dispatch();
    }
    expect(slack.calls).toEqual([]);
    return app;
  }

  const opsLines = async () => (await app.outbox({ kind: 'delivery' })).filter((e) => e.channel === OPS);

  it('sends a backlog larger than a batch, due or not, as ONE summary that covers all of it', async () => {
    const { clock, slack, dispatcher } = await outage(12);
    const waiting = await opsLines();
    expect(waiting).toHaveLength(12);
    expect(waiting.every((e) => e.status === 'pending')).toBe(true);
    slack.up();
    // The next pass, when the first of them is due again; some are not due until later.
    clock.set(Math.max(clock.now(), Math.min(...waiting.map((e) => e.availableAt))));
    expect(waiting.filter((e) => e.availableAt > clock.now()).length).toBeGreaterThan(0);
    expect(waiting.filter((e) => e.availableAt <= clock.now()).length).toBeLessThanOrEqual(BATCH);

    await dispatcher.dispatchOnce();
    expect(slack.calls).toHaveLength(1);
    expect(slack.calls[0]!.channel).toBe('#refunds');
    expect(slack.calls[0]!.text).toMatch(/^12 notifications for #refunds were held back between /);
    expect((await opsLines()).map((e) => e.status)).toEqual(Array(12).fill('sent'));
    expect(dispatcher.stats.coalesced).toBe(12);

    clock.advance(20 * MINUTE);
    await app.dispatch();
    expect(slack.calls).toHaveLength(1);
  });

  it('sends fewer than three stale deliveries one by one', async () => {
    const { slack, clock } = await outage(2);
    slack.up();
    clock.advance(20 * MINUTE);
    await app.dispatch();
    expect(slack.posts('#refunds').map((p) => p.text)).toEqual([
      expect.stringMatching(new RegExp(`^Refund ${refundKey(1)} completed`)),
      expect.stringMatching(new RegExp(`^Refund ${refundKey(2)} completed`)),
    ]);
    expect((await opsLines()).map((e) => e.status)).toEqual(['sent', 'sent']);
  });

  it('never coalesces customer emails: every customer gets their own, late or not', async () => {
    const { slack, email, clock } = await outage(4, { customerEmails: true, smtpDown: true });
    slack.up();
    email.up();
    clock.advance(20 * MINUTE);
    await app.dispatch();
    expect(slack.calls.map((c) => c.text)).toEqual([expect.stringMatching(/^4 notifications for #refunds were held back/)]);
    expect(email.sent.map((m) => m.to[0]).sort()).toEqual(['c1@example.com', 'c2@example.com', 'c3@example.com', 'c4@example.com']);
    expect(email.sent.every((m) => /^Your refund of \$10\.0\d is complete/.test(m.subject))).toBe(true);
    const customers = (await app.outbox({ kind: 'delivery' })).filter((e) => e.channel === CUSTOMER_CHANNEL);
    expect(customers.map((e) => e.status)).toEqual(Array(4).fill('sent'));
  });

  it('a summary that fails leaves every entry it covers pending, with a retry, and is sent once Slack answers', async () => {
    const { slack, clock, dispatcher } = await outage(4);
    // Slack is still down at the next pass.
    clock.set(Math.max(clock.now(), (await app.nextDueAt())!));
    const attempts = slack.attempts;
    await dispatcher.dispatchOnce();
    // One attempt for the whole backlog, not one per entry.
    expect(slack.attempts).toBe(attempts + 1);
    const waiting = await opsLines();
    expect(waiting).toHaveLength(4);
    for (const e of waiting) {
      expect(e).toMatchObject({ status: 'pending', lastError: 'Slack answered HTTP 503' });
      expect(e.availableAt).toBeGreaterThan(clock.now());
    }

    slack.up();
    clock.advance(20 * MINUTE);
    await app.dispatch();
    expect(slack.calls.map((c) => c.text)).toEqual([expect.stringMatching(/^4 notifications for #refunds were held back/)]);
    expect((await opsLines()).map((e) => e.status)).toEqual(Array(4).fill('sent'));
  });
});
