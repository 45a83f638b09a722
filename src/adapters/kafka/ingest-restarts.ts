import type { Logger } from 'pino';
import { exponentialBackoff } from '../../domain/backoff.js';
import { describeError } from './ingest-errors.js';

/**
 * Rebuilding a crashed ingest consumer, within a budget. kafkajs restarts a consumer after a
 * retriable crash itself; after a non-retriable one it gives up, and we rebuild it, with backoff,
 * at most `max` times within `windowMs`. Past that, the process should exit so an orchestrator
 * restarts it: a consumer that sits idle while the process looks healthy helps nobody.
 */

export interface RestartPolicy {
  max: number;
  windowMs: number;
  firstDelayMs: number;
}

// Five rebuilds in ten minutes, the first after a second: a broker blip costs a second, a consumer
// that keeps crashing is handed to the orchestrator within minutes.
export const DEFAULT_RESTART_POLICY: RestartPolicy = { max: 5, windowMs: 10 * 60_000, firstDelayMs: 1_000 };

export interface Restarter {
  /** Rebuilds after a delay, or gives up (fatal) when the budget is spent. */
  schedule(cause: Error): void;
  /** On stop: no rebuild is pending any more. */
  cancel(): void;
}

export function createRestarter(deps: {
  policy: RestartPolicy;
  /** Disconnects the crashed consumer and builds a new one; rejects when that fails. */
  rebuild: () => Promise<void>;
  /** The budget is spent: the consumer cannot be brought back. */
  fatal: (err: Error) => void;
  isStopping: () => boolean;
  now: () => number;
  log: Logger;
}): Restarter {
  const { policy, log } = deps;
  const restartTimes: number[] = [];
  let timer: NodeJS.Timeout | undefined;

  function schedule(cause: Error): void {
    const at = deps.now();
    while (restartTimes.length > 0 && at - restartTimes[0]! > policy.windowMs) restartTimes.shift();
    if (restartTimes.length >= policy.max) {
      deps.fatal(new Error(`the ingest consumer crashed ${restartTimes.length + 1} times within ${Math.round(policy.windowMs / 1000)} s (last: ${describeError(cause)})`, { cause }));
      return;
    }
    restartTimes.push(at);
    const waitMs = exponentialBackoff(restartTimes.length, { baseMs: policy.firstDelayMs, capMs: policy.windowMs });
    log.warn({ inMs: waitMs, restarts: restartTimes.length }, 'rebuilding the ingest consumer');
    timer = setTimeout(() => {
      timer = undefined;
      if (deps.isStopping()) return;
      deps.rebuild().catch((err: unknown) => {
        log.error({ err }, 'rebuilding the ingest consumer failed');
        if (!deps.isStopping()) schedule(err instanceof Error ? err : new Error(String(err)));
      });
    }, waitMs);
    timer.unref();
  }

  return {
    schedule,
    cancel() {
      if (timer) clearTimeout(timer);
    },
  };
}
