/**
 * Reminders for stalled refunds (docs/notifications.md, "Reminders and the digest"): the stalled
 * message's thread gets a reminder every STALLED_REMINDER_INTERVAL while the refund is not final,
 * and none after it is. A webhook cannot reply in a thread, so it gets none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, MINUTE, createTestApp, refundKey, type TestApp } from '../../support/app-fixtures.js';

describe('stalled reminders', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  /** Refund 1 stalls (the sweep, past POLL_STALLED_AFTER) and its notice is posted. */
  async function stall(options: { slackMode?: 'bot' | 'webhook' } = {}) {
    app = await createTestApp(options);
    await app.track(1);
    app.clock.advance(24 * HOUR);
    expect(await app.sweepDeadlines()).toBe(1);
    await app.dispatch();
    const [posted] = app.slack.posts('#refund-escalations');
    expect(posted!.text).toMatch(new RegExp(`^Refund ${refundKey(1)} is not final yet`));
    return posted!;
  }

  it('replies in the stalled message’s thread every interval until the refund is final', async () => {
    const posted = await stall();
    const { clock, slack, settings } = app;
    const thread = { channel: slack.channelId('#refund-escalations'), threadTs: posted.ts };

    clock.set(posted.at + settings.reminderIntervalMs - MINUTE);
    expect(await app.remindStalled()).toBe(0);
    clock.set(posted.at + settings.reminderIntervalMs);
    expect(await app.remindStalled()).toBe(1);
    expect(await app.remindStalled()).toBe(0);
    clock.set(posted.at + 2 * settings.reminderIntervalMs - MINUTE);
    expect(await app.remindStalled()).toBe(0);
    clock.set(posted.at + 2 * settings.reminderIntervalMs);
    expect(await app.remindStalled()).toBe(1);

    const replies = slack.calls.filter((c) => c.threadTs !== undefined);
    expect(replies).toEqual([
      expect.objectContaining({ ...thread, text: expect.stringMatching(new RegExp(`^Reminder 1: refund ${refundKey(1)} is still not final 12h`)) }),
      expect.objectContaining({ ...thread, text: expect.stringMatching(new RegExp(`^Reminder 2: refund ${refundKey(1)} is still not final 1d`)) }),
    ]);

    // Antom says it completed: no more reminders, however long we wait.
    expect(await app.complete(1)).toEqual({ status: 'applied' });
    clock.advance(3 * settings.reminderIntervalMs);
    expect(await app.remindStalled()).toBe(0);
    expect(slack.calls.filter((c) => c.threadTs !== undefined)).toHaveLength(2);
  });

  it('sends none through a webhook, which has no thread to reply in', async () => {
    await stall({ slackMode: 'webhook' });
    const { clock, slack } = app;
    for (let i = 0; i < 3; i++) {
      clock.advance(12 * HOUR);
      expect(await app.remindStalled()).toBe(0);
    }
    expect(slack.calls).toHaveLength(1);
  });
});
