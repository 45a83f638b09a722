import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';

export interface Job {
  readonly name: string;
  /** node-cron expression (seconds field allowed). */
  readonly schedule: string;
  /** The IANA time zone the schedule is read in; UTC when absent. */
  readonly timezone?: string;
  /**
   * The period a tick at `now` belongs to (src/domain/job-periods.ts). With a claim (below), a job
   * runs once per period across every instance that shares the store; without a period, each
   * instance runs it on each tick.
   */
  period?(now: number): string;
  run(): Promise<unknown>;
}

export interface SchedulerOptions {
  /** Claims a job's run for a period; false: another instance (or an earlier run) has it. */
  claim?: (job: string, period: string) => Promise<boolean>;
  now?: () => number;
}

export interface Scheduler {
  start(): void;
  stop(): Promise<void>;
  /** Runs a job now, outside its schedule and without a claim (tests, admin). */
  runNow(name: string): Promise<unknown>;
  /** Runs a job as a tick of its schedule would at this moment: claimed for its period first. */
  tick(name: string): Promise<unknown>;
}

/**
 * Scheduled jobs (sweeps, cleanup, digests) on node-cron. A job never overlaps itself: a run that
 * is still going when the next tick comes makes that tick a no-op, logged. A job with a period is
 * claimed before it runs, so of the instances sharing a store one runs it per period.
 */
export function createScheduler(jobs: Job[], logger: Logger, options: SchedulerOptions = {}): Scheduler {
  const now = options.now ?? (() => Date.now());
  const log = logger.child({ component: 'scheduler' });
  const running = new Map<string, Promise<unknown>>();
  const tasks: ScheduledTask[] = [];

  /** Runs the job if this instance gets its period (always, without a period or a claim). */
  async function claimed(job: Job): Promise<unknown> {
    if (job.period && options.claim) {
      const period = job.period(now());
      if (!(await options.claim(job.name, period))) {
        log.debug({ job: job.name, period }, 'run claimed by another instance (or already done); tick skipped');
        return undefined;
      }
    }
    return job.run();
  }

  function runJob(job: Job, claim = true): Promise<unknown> {
    const current = running.get(job.name);
    if (current) {
      log.debug({ job: job.name }, 'previous run still going; tick skipped');
      return current;
    }
    const started = Date.now();
    const run = (claim ? claimed(job) : job.run())
      .then(
        (result) => {
          log.debug({ job: job.name, ms: Date.now() - started, result }, 'job done');
          return result;
        },
        (err: unknown) => {
          log.error({ err, job: job.name }, 'job failed');
          return undefined;
        },
      )
      .finally(() => running.delete(job.name));
    running.set(job.name, run);
    return run;
  }

  return {
    start() {
      for (const job of jobs) {
        if (!cron.validate(job.schedule)) throw new Error(`job ${job.name}: invalid cron expression "${job.schedule}"`);
        tasks.push(cron.schedule(job.schedule, () => void runJob(job), { name: job.name, timezone: job.timezone ?? 'UTC' }));
      }
    },
    async stop() {
      for (const t of tasks.splice(0)) await t.stop();
      await Promise.allSettled([...running.values()]);
    },
    runNow(name) {
      const job = jobs.find((j) => j.name === name);
      if (!job) return Promise.reject(new Error(`no job ${name}`));
      return runJob(job, false);
    },
    tick(name) {
      const job = jobs.find((j) => j.name === name);
      if (!job) return Promise.reject(new Error(`no job ${name}`));
      return runJob(job);
    },
  };
}
