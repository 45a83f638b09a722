/**
 * Grouped notifications (docs/notifications.md, "Dedupe keys and grouping"): refunds that fail with
 * the same code inside NOTIFY_GROUP_WINDOW are one message. The opener is told at once; a Slack bot
 * rewrites its one message at most every NOTIFY_GROUP_UPDATE_INTERVAL; email and a webhook get the
 * rest in one summary when the window closes; a receiver that keeps failing gets the group on the
 * other channel, and a summary nobody can deliver is given up an hour after its window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, MINUTE, SECOND, createTestApp, refundKey, type TestApp, type TestAppOptions } from '../../support/app-fixtures.js';
import { newRefund } from '../../contract/refund-store.contract.js';

/** Every failed refund goes to one receiver, grouped by `groupBy`. */
function groupedRouting(receiver: 'slack' | 'email', groupBy = '[reasonCode]'): string {
  return `
version: 1
receivers:
  escalations:
    ${receiver === 'slack' ? 'slack: $SLACK_ESCALATION_CHANNEL' : 'email: $ESCALATION_EMAIL_TO'}
routes:
  - match: { event: refund.failed }
    receivers: [escalations]
    template: escalation
    groupBy: ${groupBy}
`;
}

let app: TestApp;
afterEach(async () => app?.close());

async function start(options: TestAppOptions) {
  app = await createTestApp(options);
  return app;
}

/** Refund `n` fails with `code` (tracked first), and the dispatcher sends what that queued. */
async function failAndDispatch(n: number, code = 'RISK_REJECT', currency = 'USD') {
  await app.track(newRefund(n, { refundAmount: { currency, value: String(1000 + n) } }));
  expect(await app.fail(n, code)).toEqual({ status: 'applied' });
  await app.dispatch();
}

describe('group windows', () => {
  it('Slack bot: the opener is posted at once, later members update that one message at most every interval, and a new window opens a new message', async () => {
    const { clock, slack } = await start({ routing: groupedRouting('slack') });
    const t0 = clock.now();
    await failAndDispatch(1);
    expect(slack.calls).toHaveLength(1);
    const opener = slack.calls[0]!;
    expect(opener).toMatchObject({ method: 'postMessage', channel: '#refund-escalations', at: t0 });
    expect(opener.text).toMatch(/^Escalation: 1 refund failed with RISK_REJECT\b/);

    // A refund joins every 10 s and the flusher runs every 5 s, for the rest of the window.
    let n = 1;
    for (let elapsed = 5 * SECOND; elapsed < 5 * MINUTE; elapsed += 5 * SECOND) {
      clock.set(t0 + elapsed);
      if (elapsed % (10 * SECOND) === 0) await failAndDispatch(++n);
      await app.flushGroups();
    }
    // The window closes: one last update with the refunds that came since the previous one.
    clock.set(t0 + 5 * MINUTE);
    await app.flushGroups();

    const updates = slack.updates();
    expect(slack.posts()).toHaveLength(1);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    // 30 refunds cost at most 11 Slack calls (docs/performance.md).
    expect(slack.calls.length).toBeLessThanOrEqual(11);
    for (const u of updates) expect(u).toMatchObject({ channel: slack.channelId('#refund-escalations'), ts: opener.ts });
    expect(updates[0]!.at - t0).toBeGreaterThanOrEqual(30 * SECOND);
    for (let i = 1; i < updates.length; i++) expect(updates[i]!.at - updates[i - 1]!.at).toBeGreaterThanOrEqual(30 * SECOND);
    expect(updates.at(-1)!.text).toMatch(new RegExp(`^Escalation: ${n} refunds failed with RISK_REJECT\\b`));

    // Nothing new: the closed group is not touched again.
    clock.advance(MINUTE);
    await app.flushGroups();
    expect(slack.calls).toHaveLength(1 + updates.length);

    // After the window, the same code opens a new group and a new message.
    await failAndDispatch(++n);
    const posts = slack.posts();
    expect(posts).toHaveLength(2);
    expect(posts[1]!.ts).not.toBe(opener.ts);
    expect(posts[1]!.text).toMatch(/^Escalation: 1 refund failed with RISK_REJECT\b/);
  });

  it.each([
    { by: 'email', options: { routing: groupedRouting('email') } },
    { by: 'a Slack webhook', options: { routing: groupedRouting('slack'), slackMode: 'webhook' } },
  ] as const)('by $by: the opener goes at once, the rest of the window as one summary when it closes', async ({ options }) => {
    const { clock, slack, email } = await start(options);
    // What the receiver reads: the email's text, or the webhook message with its blocks.
    const told = () => (options.slackMode === 'webhook' ? slack.posts().map((m) => `${m.text}\n${m.shown}`) : email.sent.map((m) => m.text));
    const t0 = clock.now();
    await failAndDispatch(1);
    expect(told()).toHaveLength(1);
    expect(told()[0]).toContain(refundKey(1));

    for (let n = 2; n <= 5; n++) {
      clock.set(t0 + n * 40 * SECOND);
      await failAndDispatch(n);
      await app.flushGroups();
    }
    // Nothing more while the window is open, however often the flusher runs.
    expect(told()).toHaveLength(1);
    expect(slack.updates()).toEqual([]);

    clock.set(t0 + 5 * MINUTE);
    await app.flushGroups();
    expect(told()).toHaveLength(2);
    const summary = told()[1]!;
    expect(summary).toMatch(/^Escalation: 4 refunds failed with RISK_REJECT\b/);
    for (let n = 2; n <= 5; n++) expect(summary).toContain(refundKey(n));
    expect(summary).not.toContain(refundKey(1));

    clock.advance(10 * MINUTE);
    await app.flushGroups();
    expect(told()).toHaveLength(2);
  });

  it('a group keyed by [reasonCode, currency] is one message per currency, saying "with RISK_REJECT in USD"', async () => {
    const { clock, slack } = await start({ routing: groupedRouting('slack', '[reasonCode, currency]') });
    await failAndDispatch(1, 'RISK_REJECT', 'USD');
    await failAndDispatch(2, 'RISK_REJECT', 'EUR');
    await failAndDispatch(3, 'RISK_REJECT', 'USD');
    clock.advance(30 * SECOND);
    await app.flushGroups();

    const [usd, eur] = slack.posts();
    expect(slack.posts()).toHaveLength(2);
    expect(usd!.text).toMatch(/^Escalation: 1 refund failed with RISK_REJECT in USD\b/);
    expect(eur!.text).toMatch(/^Escalation: 1 refund failed with RISK_REJECT in EUR\b/);
    expect(slack.updates()).toEqual([expect.objectContaining({ ts: usd!.ts, text: expect.stringMatching(/^Escalation: 2 refunds failed with RISK_REJECT in USD\b/) })]);
  });

});

describe('group windows when a receiver keeps failing', () => {
  it('a Slack group whose receiver keeps failing past the window goes to the escalation email, once', async () => {
    const { clock, slack, email, settings } = await start({ routing: groupedRouting('slack') });
    const t0 = clock.now();
    await failAndDispatch(1);
    expect(slack.posts()).toHaveLength(1);
    slack.down('retriable');
    clock.advance(10 * SECOND);
    await failAndDispatch(2);
    await failAndDispatch(3);

    // Retriable failures are retried through the window, and until the receiver has failed for
    // NOTIFY_FALLBACK_AFTER (from the first failed update, at t0 + 40 s), like any ops delivery.
    const windowEnd = t0 + settings.groupWindowMs;
    const firstFailure = t0 + 40 * SECOND;
    for (const at of [firstFailure, windowEnd, firstFailure + settings.fallbackAfterMs - SECOND]) {
      clock.set(at);
      await app.flushGroups();
    }
    expect(email.sent).toEqual([]);

    clock.set(firstFailure + settings.fallbackAfterMs);
    await app.flushGroups();
    expect(email.sent).toHaveLength(1);
    const [sent] = email.sent;
    expect(sent!.to).toEqual(settings.escalationEmailTo);
    // The refunds Slack never showed, and why they came this way.
    expect(sent!.text).toMatch(/^Escalation: 2 refunds failed with RISK_REJECT\b/);
    expect(sent!.text).toContain(refundKey(2));
    expect(sent!.text).toContain(refundKey(3));
    expect(sent!.text).toContain('Sent here instead of slack:#refund-escalations, which failed: Slack answered HTTP 503');

    slack.up();
    clock.advance(HOUR);
    await app.flushGroups();
    expect(email.sent).toHaveLength(1);
    expect(slack.calls).toHaveLength(1);
  });

  // An opener whose Slack post keeps failing falls back with its group, not on its own, and its
  // retried delivery finds the group that holds it (open, past its window or closed): it is told
  // once on each channel at most, however long Slack is down.
  it.each([
    { outage: 7 * MINUTE, name: '7 minutes' },
    { outage: HOUR, name: 'an hour' },
  ])('an opener Slack cannot take for $name is told at most once on each channel', async ({ outage }) => {
    const { clock, slack, email } = await start({ routing: groupedRouting('slack') });
    slack.down('retriable');
    const t0 = clock.now();
    await failAndDispatch(1);
    // Past the outage, the window and NOTIFY_STALE_AFTER: every path that could tell it has run.
    while (clock.now() < t0 + outage + 30 * MINUTE) {
      if (clock.now() >= t0 + outage) slack.up();
      clock.advance(20 * SECOND);
      await app.dispatch();
      await app.flushGroups();
    }
    const mentions = (texts: string[]) => texts.filter((t) => t.includes(refundKey(1))).length;
    expect(mentions(email.sent.map((m) => m.text))).toBeLessThanOrEqual(1);
    expect(mentions(slack.posts().map((m) => `${m.text}\n${m.shown}`))).toBeLessThanOrEqual(1);
    // And it was told somewhere.
    expect(mentions([...email.sent.map((m) => m.text), ...slack.posts().map((m) => m.shown)])).toBeGreaterThan(0);
  });

  it('a summary that keeps failing on both channels is given up an hour after its window, not before', async () => {
    const { clock, slack, email, store, settings } = await start({ routing: groupedRouting('email') });
    const t0 = clock.now();
    await failAndDispatch(1);
    expect(email.sent).toHaveLength(1);
    email.down('retriable');
    slack.down('retriable');
    clock.advance(10 * SECOND);
    await failAndDispatch(2);
    await failAndDispatch(3);

    const windowEnd = t0 + settings.groupWindowMs;
    for (const at of [windowEnd, windowEnd + 30 * MINUTE, windowEnd + HOUR]) {
      clock.set(at);
      await app.flushGroups();
      expect(await store.listGroupsToFlush(clock.now(), 0)).toHaveLength(1);
    }
    clock.set(windowEnd + HOUR + SECOND);
    await app.flushGroups();
    expect(await store.listGroupsToFlush(clock.now(), 0)).toEqual([]);

    // Both answer again: the given-up summary is not sent late.
    email.up();
    slack.up();
    clock.advance(HOUR);
    await app.flushGroups();
    expect(email.sent).toHaveLength(1);
    expect(slack.calls).toEqual([]);
  });
});
