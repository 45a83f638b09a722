import type { Logger } from 'pino';
import type { RefundStore, Clock } from '../app/ports.js';
import { createRetention } from '../app/retention.js';
import type { Job } from '../adapters/scheduler/jobs.js';
import type { SettingValues } from '../config/settings.js';
import { dayIn, tickPeriod } from '../domain/job-periods.js';
import type { Notifications } from './notifications.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
// Job-run claims are kept two days: long past any period a late tick could still name.
const JOB_RUNS_KEPT_MS = 2 * 24 * 60 * MINUTE;

/**
 * The scheduled jobs (node-cron expressions, UTC unless said). Each names its period, so of the
 * instances sharing a store one runs it per period (docs/operations.md).
 */
export function scheduledJobs(parts: {
  values: SettingValues;
  store: RefundStore;
  clock: Clock;
  notifications: Notifications;
  sweepDeadlines: () => Promise<unknown>;
  logger: Logger;
}): Job[] {
  const { values: v, store, clock, notifications } = parts;
  const every = (ms: number) => (now: number) => tickPeriod(now, ms);
  const jobs: Job[] = [
    // Every minute: deadlines missed while no poller ran are applied within a minute.
    { name: 'sweep-deadlines', schedule: '* * * * *', period: every(MINUTE), run: parts.sweepDeadlines },
    // Nightly: sent outbox entries older than OUTBOX_RETENTION are deleted, and old job-run claims.
    {
      name: 'prune-outbox',
      schedule: '17 3 * * *',
      period: (now) => dayIn(now, 'UTC'),
      run: async () => ({ outbox: await store.pruneOutbox(clock.now() - v.OUTBOX_RETENTION), jobRuns: await store.pruneJobRuns(clock.now() - JOB_RUNS_KEPT_MS) }),
    },
    // Nightly: customer data erased after CUSTOMER_DATA_RETENTION, history after HISTORY_RETENTION.
    {
      name: 'retention',
      schedule: '37 3 * * *',
      period: (now) => dayIn(now, 'UTC'),
      run: createRetention({ store, clock, logger: parts.logger, customerDataMs: v.CUSTOMER_DATA_RETENTION, historyMs: v.HISTORY_RETENTION }),
    },
    // Every 5 s: grouped messages brought up to date (each at most every NOTIFY_GROUP_UPDATE_INTERVAL).
    { name: 'flush-groups', schedule: '*/5 * * * * *', period: every(5 * SECOND), run: notifications.flushGroups },
    // Every 5 s: a customer-email outage that has lasted NOTIFY_FALLBACK_AFTER is announced.
    { name: 'customer-email-outage', schedule: '*/5 * * * * *', period: every(5 * SECOND), run: () => notifications.customerEmailOutage.check() },
    // Every minute: the rows the counts by status are kept in folded (docs/store.md, "Counts by status").
    { name: 'fold-counts', schedule: '* * * * *', period: every(MINUTE), run: async () => ({ folded: await store.foldCounts() }) },
    // Every minute: reminders for stalled refunds whose STALLED_REMINDER_INTERVAL has passed.
    { name: 'stalled-reminders', schedule: '* * * * *', period: every(MINUTE), run: notifications.remindStalled },
  ];
  // Once a day in DIGEST_TIMEZONE. Not claimed: every instance may run it, and the digest is
  // queued under `digest:<day>`, which the outbox writes once; so neither a second instance nor a
  // restart sends it twice, and an instance that dies mid-run does not cost the day its digest.
  if (v.DIGEST_CRON) jobs.push({ name: 'digest', schedule: v.DIGEST_CRON, timezone: v.DIGEST_TIMEZONE, run: notifications.digest });
  return jobs;
}
