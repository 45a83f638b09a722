/**
 * Fallback through the whole dispatcher (docs/notifications.md, "Delivery"): the real sender and
 * fallback planner over a Slack that keeps failing. Time decides, not a count of attempts: after
 * NOTIFY_FALLBACK_AFTER of failures a stalled refund's notice goes to the escalation email, once,
 * saying which receiver failed; an ops line is retried instead, and never emailed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, MINUTE, createTestApp, refundKey, type TestApp } from '../../support/app-fixtures.js';

describe('fallback to the other channel', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  /** Dispatcher passes whenever something is due, until `until` (the fake clock jumps between them). */
  async function dispatchUntil(until: number): Promise<void> {
    for (;;) {
      await app.dispatch();
      const next = await app.nextDueAt();
      if (next === undefined || next > until) break;
      app.clock.set(Math.max(app.clock.now(), next));
    }
    app.clock.set(Math.max(app.clock.now(), until));
  }

  it('a stalled refund whose Slack keeps failing for NOTIFY_FALLBACK_AFTER is emailed, once, with the reason', async () => {
    app = await createTestApp();
    const { clock, slack, email, settings } = app;
    await app.track(1);
    // Not final after POLL_STALLED_AFTER: the sweep stalls it and queues the notice.
    clock.advance(24 * HOUR);
    expect(await app.sweepDeadlines()).toBe(1);
    slack.down('retriable');
    const failingSince = clock.now();

    await dispatchUntil(failingSince + settings.fallbackAfterMs - 1);
    expect(slack.attempts).toBeGreaterThan(3);
    expect(email.sent).toEqual([]);

    await dispatchUntil(failingSince + HOUR);
    expect(email.sent).toHaveLength(1);
    const [sent] = email.sent;
    expect(sent!.at - failingSince).toBeGreaterThanOrEqual(settings.fallbackAfterMs);
    expect(sent!.to).toEqual(settings.escalationEmailTo);
    expect(sent!.text).toMatch(new RegExp(`^Refund ${refundKey(1)} is not final yet`));
    expect(sent!.text).toContain('Sent here instead of slack:#refund-escalations, which failed: Slack answered HTTP 503');

    // The Slack delivery is replaced, not retried: Slack coming back sends nothing late.
    const original = (await app.outbox({ kind: 'delivery' })).find((e) => e.channel === 'slack:#refund-escalations')!;
    expect(original).toMatchObject({ status: 'dead', lastError: expect.stringMatching(/^fell back to email:ops@example.com: Slack answered HTTP 503/) });
    slack.up();
    const attempts = slack.attempts;
    await dispatchUntil(clock.now() + 24 * HOUR);
    expect(slack.attempts).toBe(attempts);
    expect(email.sent).toHaveLength(1);
  });

  it('an ops line is retried while Slack is down, never emailed, and sent once Slack answers', async () => {
    app = await createTestApp({ customerEmails: false });
    const { clock, slack, email } = app;
    await app.track(1);
    slack.down('retriable');
    expect(await app.complete(1)).toEqual({ status: 'applied' });

    await dispatchUntil(clock.now() + HOUR);
    const line = (await app.outbox({ kind: 'delivery' }))[0]!;
    expect(line).toMatchObject({ channel: 'slack:#refunds', status: 'pending', lastError: 'Slack answered HTTP 503' });
    expect(email.sent).toEqual([]);

    slack.up();
    await dispatchUntil(clock.now() + 20 * MINUTE);
    expect(slack.posts('#refunds').map((p) => p.text)).toEqual([expect.stringMatching(new RegExp(`^Refund ${refundKey(1)} completed`))]);
    expect(email.sent).toEqual([]);
  });

  it('a fallback does not fall back again: refused by email too, it is dead and Slack is not tried again', async () => {
    app = await createTestApp();
    const { clock, slack, email } = app;
    await app.track(1);
    clock.advance(24 * HOUR);
    await app.sweepDeadlines();
    slack.down('permanent');
    email.down('permanent');

    await dispatchUntil(clock.now() + HOUR);
    // Refused for good at once: to email at once, refused there too, and that is the end.
    expect(slack.attempts).toBe(1);
    expect(email.attempts).toBe(1);
    const deliveries = await app.outbox({ kind: 'delivery' });
    expect(deliveries.map((e) => [e.channel, e.status])).toEqual([
      ['slack:#refund-escalations', 'dead'],
      ['email:ops@example.com', 'dead'],
    ]);
  });
});
