/**
 * Reminders in the thread of each stalled refund's first Slack message, every reminderIntervalMs,
 * until the refund is final (docs/notifications.md, "Reminders and the digest"). A webhook cannot reply in a
 * thread, so only a bot token reminds.
 */
import { noticeSubject } from '../../domain/notice.js';
import { noTracing } from '../tracing.js';
import type { NotifierDeps } from './vocabulary.js';

// 50 reminders a run: the job runs every few seconds, and Slack takes about one message a second
// per channel; a longer list would only wait behind Slack's rate limit.
const REMINDERS_PER_RUN = 50;

export function createStalledReminders(deps: Pick<NotifierDeps, 'store' | 'slack' | 'render' | 'settings' | 'clock' | 'logger' | 'tracing'>) {
  const log = deps.logger.child({ component: 'notify-reminders' });
  const tracing = deps.tracing ?? noTracing;
  return async function remindStalled(): Promise<number> {
    if (deps.slack.mode !== 'bot') return 0;
    const now = deps.clock.now();
    const due = await deps.store.listRemindersDue(now, deps.settings.reminderIntervalMs, REMINDERS_PER_RUN);
    let sent = 0;
    for (const { thread, refund } of due) {
      const subject = noticeSubject(refund, 'refund.stalled', now);
      // A send span in the refund's trace, as for every delivery (send-delivery.ts).
      const span = tracing.span('notify slack', subject.traceparent, { 'refund.id': refund.id, 'notify.receiver': `slack:${thread.channel}`, 'notify.template': 'reminder' }, 'client');
      try {
        await deps.slack.postMessage({
          channel: thread.channelId,
          threadTs: thread.ts,
          ...deps.render.slackReminder(subject, { reminder: thread.reminders + 1, stalledSince: refund.stalledAt ?? thread.postedAt, now }),
        });
        await deps.store.markReminded(thread.refundKey, thread.channel, now);
        sent += 1;
      } catch (err) {
        span.fail(err instanceof Error ? err.message : String(err));
        log.warn({ err, refund: refund.id, ...span.logFields }, 'stalled reminder failed; will retry');
      } finally {
        span.end();
      }
    }
    return sent;
  };
}
