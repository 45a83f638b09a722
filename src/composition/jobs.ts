import type { RefundStore, Clock } from '../app/ports.js';
import type { Job } from '../adapters/scheduler/jobs.js';
import type { SettingValues } from '../config/settings.js';
import type { Notifications } from './notifications.js';

/** The scheduled jobs (node-cron expressions, UTC). */
export function scheduledJobs(parts: {
  values: SettingValues;
  store: RefundStore;
  clock: Clock;
  notifications: Notifications;
  sweepDeadlines: () => Promise<unknown>;
}): Job[] {
  const { values: v, store, clock, notifications } = parts;
  return [
    // Every minute: deadlines missed while no poller ran are applied within a minute.
    { name: 'sweep-deadlines', schedule: '* * * * *', run: parts.sweepDeadlines },
    // Nightly: sent outbox entries older than OUTBOX_RETENTION are deleted.
    { name: 'prune-outbox', schedule: '17 3 * * *', run: () => store.pruneOutbox(clock.now() - v.OUTBOX_RETENTION) },
    // Every 5 s: grouped messages brought up to date (each at most every NOTIFY_GROUP_UPDATE_INTERVAL).
    { name: 'flush-groups', schedule: '*/5 * * * * *', run: notifications.flushGroups },
    // Every 5 s: a customer-email outage that has lasted NOTIFY_FALLBACK_AFTER is announced.
    { name: 'customer-email-outage', schedule: '*/5 * * * * *', run: () => notifications.customerEmailOutage.check() },
    // Every minute: reminders for stalled refunds whose STALLED_REMINDER_INTERVAL has passed.
    { name: 'stalled-reminders', schedule: '* * * * *', run: notifications.remindStalled },
    ...(v.DIGEST_CRON ? [{ name: 'digest', schedule: v.DIGEST_CRON, run: notifications.digest }] : []),
  ];
}
