import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';

export interface Job {
  readonly name: string;
  /** node-cron expression (seconds field allowed). */
  readonly schedule: string;
  run(): Promise<unknown>;
}

export interface Scheduler {
  start(): void;
  stop(): Promise<void>;
  /** Runs a job now, outside its schedule (tests, admin). */
  runNow(name: string): Promise<unknown>;
}

/**
 * Scheduled jobs (sweeps, cleanup, digests) on node-cron. A job never overlaps itself: a run that
 * is still going when the next tick comes makes that tick a no-op, logged.
 */
export function createScheduler(jobs: Job[], logger: Logger): Scheduler {
  const log = logger.child({ component: 'scheduler' });
  const running = new Map<string, Promise<unknown>>();
  const tasks: ScheduledTask[] = [];

  function runJob(job: Job): Promise<unknown> {
    const current = running.get(job.name);
    if (current) {
      log.debug({ job: job.name }, 'previous run still going; tick skipped');
      return current;
    }
    const started = Date.now();
    const run = job
      .run()
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
        tasks.push(cron.schedule(job.schedule, () => void runJob(job), { name: job.name }));
      }
    },
    async stop() {
      for (const t of tasks.splice(0)) await t.stop();
      await Promise.allSettled([...running.values()]);
    },
    runNow(name) {
      const job = jobs.find((j) => j.name === name);
      if (!job) return Promise.reject(new Error(`no job ${name}`));
      return runJob(job);
    },
  };
}
