/**
 * The one backoff formula: `baseMs × factor^(attempt − 1)`, at most `capMs`. `attempt` counts
 * from 1 (the first retry waits `baseMs`). The exponent is bounded, so a retry counter that grows
 * for days never overflows to Infinity or NaN. Each caller chooses and justifies its own base and
 * cap; jitter, where it helps, is the caller's (the poll schedule spreads refunds; a single
 * connection's retries do not need it).
 */
export function exponentialBackoff(attempt: number, options: { baseMs: number; capMs: number; factor?: number }): number {
  const factor = options.factor ?? 2;
  const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1), MAX_EXPONENT);
  return Math.min(options.capMs, options.baseMs * factor ** exponent);
}

// 2^30 × a 1 ms base is 12 days, past every cap in use; 3^30 is beyond any sane interval too.
const MAX_EXPONENT = 30;
