/**
 * Tests wait for conditions, not for time (STYLE.md): `until` polls a predicate with a deadline.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface UntilOptions {
  /** Give up after this long. Default 10 s: far above what a healthy local broker needs, far below the 60 s test timeout. */
  timeoutMs?: number;
  /** Pause between checks. Default 50 ms: fast enough not to slow tests, slow enough not to spin. */
  intervalMs?: number;
  /** What the timeout error says; name the condition you were waiting for. */
  message?: string;
}

/**
 * Polls `predicate` until it returns a truthy value, and returns that value. A predicate that throws
 * counts as "not yet" (so `expect(...)` inside works); its last error is reported on timeout.
 */
export async function until<T>(predicate: () => T | Promise<T>, opts: UntilOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail =
        lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`${opts.message ?? 'condition not met'} (after ${timeoutMs} ms${detail})`, { cause: lastError });
    }
    await delay(intervalMs);
  }
}
