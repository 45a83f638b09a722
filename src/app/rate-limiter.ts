import type { Clock } from './ports.js';

export interface RateLimiter {
  /** Takes one token; resolves when it is granted (or at once with `false` once aborted). */
  acquire(signal?: AbortSignal): Promise<boolean>;
  /**
   * Antom said REQUEST_TRAFFIC_EXCEED_LIMIT: run at `factor` of the rate until `until`. A later
   * signal extends the window; the rate comes back by itself when it ends.
   */
  slowDown(until: number, factor: number): void;
  /** The rate in force now, requests per second. */
  currentRate(): number;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. The burst is kept
 * small (a tenth of a second of tokens) so the limit holds over any one-second window, which is
 * how an API's rate limit is counted on the other side.
 */
export function createRateLimiter(options: { ratePerSecond: number; clock: Clock; sleep: Sleep; burst?: number }): RateLimiter {
  const { clock, sleep } = options;
  const burst = options.burst ?? Math.max(1, Math.floor(options.ratePerSecond / 10));
  let tokens = burst;
  let last = clock.now();
  let slowUntil = 0;
  let slowFactor = 1;
  // Waiters are served in order, so a steady stream of callers cannot starve an early one.
  let queue: Promise<unknown> = Promise.resolve();

  const rate = () => (clock.now() < slowUntil ? options.ratePerSecond * slowFactor : options.ratePerSecond);

  function refill(now: number): void {
    const elapsed = Math.max(0, now - last);
    last = now;
    tokens = Math.min(burst, tokens + (elapsed * rate()) / 1000);
  }

  async function takeOne(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      refill(clock.now());
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      const waitMs = Math.ceil(((1 - tokens) * 1000) / rate());
      await sleep(Math.max(1, waitMs), signal).catch(() => undefined);
    }
  }

  return {
    acquire(signal) {
      const turn = queue.then(() => takeOne(signal));
      queue = turn.catch(() => undefined);
      return turn;
    },
    slowDown(until, factor) {
      refill(clock.now());
      slowUntil = Math.max(slowUntil, until);
      slowFactor = Math.min(1, Math.max(0.01, factor));
    },
    currentRate: rate,
  };
}
