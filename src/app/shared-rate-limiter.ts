import type { Logger } from 'pino';
import type { Clock, RefundStore } from './ports.js';
import type { RateLimiter, Sleep } from './rate-limiter.js';

// A store that cannot be asked for tokens is asked again after this long; the poll loop cannot
// claim refunds from it meanwhile either, so nothing waits on this that could go faster.
const STORE_RETRY_MS = 1000;
// Never ask again sooner than this when the bucket is empty: a take is a round trip and a write.
const MIN_WAIT_MS = 5;

/**
 * One Antom budget for the cluster (docs/operations.md, "One Antom budget"): the same RateLimiter
 * the poll loop uses, over a token bucket in the store that every instance takes from. Tokens are
 * taken in slices (a fortieth of a second of the rate), so a busy cluster writes the bucket about
 * forty times a second in all rather than once per inquiry; a slice is spent before the next is
 * asked for. A traffic-limit answer slows the bucket itself, so every instance slows down.
 */
export function createSharedRateLimiter(options: {
  store: Pick<RefundStore, 'takeRateTokens' | 'slowRateBucket'>;
  /** The bucket: one per Antom client id (Antom counts its limit per client). */
  bucket: string;
  ratePerSecond: number;
  clock: Clock;
  sleep: Sleep;
  logger: Logger;
}): RateLimiter {
  const { store, bucket, clock, sleep } = options;
  const log = options.logger.child({ component: 'rate-limit' });
  // A tenth of a second of tokens may be saved up, as in the per-instance bucket: the limit then
  // holds over any one-second window, which is how Antom counts it.
  const burst = Math.max(1, Math.floor(options.ratePerSecond / 10));
  const slice = Math.max(1, Math.ceil(options.ratePerSecond / 40));
  let local = 0;
  let rate = options.ratePerSecond;
  let queue: Promise<unknown> = Promise.resolve();

  async function refill(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      try {
        const grant = await store.takeRateTokens({ bucket, want: slice, ratePerSecond: options.ratePerSecond, burst, now: clock.now() });
        rate = grant.rate;
        if (grant.granted > 0) {
          local += grant.granted;
          return true;
        }
        // Empty: wait until about a slice has accrued (all instances draw on it, so ask then).
        const waitMs = Math.max(MIN_WAIT_MS, Math.ceil(((Math.min(slice, burst) - grant.tokensLeft) * 1000) / grant.rate));
        await sleep(waitMs, signal).catch(() => undefined);
      } catch (err) {
        log.warn({ err }, 'the shared Antom budget could not be read; asking again');
        await sleep(STORE_RETRY_MS, signal).catch(() => undefined);
      }
    }
  }

  async function takeOne(signal?: AbortSignal): Promise<boolean> {
    if (local < 1 && !(await refill(signal))) return false;
    local -= 1;
    return true;
  }

  return {
    acquire(signal) {
      const turn = queue.then(() => takeOne(signal));
      queue = turn.catch(() => undefined);
      return turn;
    },
    slowDown(until, factor) {
      // What this instance still holds is dropped, so the slow-down holds from now, not a slice later.
      local = 0;
      rate = options.ratePerSecond * factor;
      store.slowRateBucket({ bucket, until, factor, burst, now: clock.now() }).catch((err: unknown) => log.warn({ err }, 'the shared Antom budget could not be slowed down; the next traffic-limit answer tries again'));
    },
    currentRate: () => rate,
  };
}
