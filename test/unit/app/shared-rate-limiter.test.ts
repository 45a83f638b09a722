/**
 * One Antom budget for the cluster (docs/operations.md): three instances' limiters over one store
 * never inquire faster together than ANTOM_RATE_LIMIT allows, each gets a share, and a traffic-limit
 * answer seen by one slows them all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RefundStore } from '../../../src/app/ports.js';
import type { RateLimiter } from '../../../src/app/rate-limiter.js';
import { createSharedRateLimiter } from '../../../src/app/shared-rate-limiter.js';
import { createFakeClock, createMemoryStore, quietLogger, type FakeClock } from '../../support/fakes.js';
import { until } from '../../support/until.js';

const RATE = 100;
const BUCKET = 'antom:SANDBOX_TEST';

describe('the shared Antom budget', () => {
  let store: RefundStore;
  // Takes from the shared bucket not yet answered by the store.
  let inFlight = 0;
  afterEach(async () => {
    await store?.close();
  });

  /** Runs `limiters` flat out for `ms` of simulated time; returns how many tokens each got. */
  async function drive(clock: FakeClock, limiters: RateLimiter[], ms: number): Promise<number[]> {
    const got = limiters.map(() => 0);
    const stop = new AbortController();
    const loops = limiters.map(async (limiter, i) => {
      while (!stop.signal.aborted) if (await limiter.acquire(stop.signal)) got[i]! += 1;
    });
    for (let t = 0; t < ms; t += 5) {
      clock.advance(5);
      // The takes this step woke are answered by the store's worker thread before time moves on.
      await new Promise((resolve) => setImmediate(resolve));
      await until(() => inFlight === 0, { timeoutMs: 5_000, intervalMs: 1, message: 'the takes of this step answered' });
    }
    stop.abort();
    clock.advance(60_000);
    await Promise.all(loops);
    return got;
  }

  it('holds three instances together to the budget, each with a share, and slows them all at once', async () => {
    store = await createMemoryStore();
    const counted: Pick<RefundStore, 'takeRateTokens' | 'slowRateBucket'> = {
      takeRateTokens: async (input) => {
        inFlight += 1;
        try {
          return await store.takeRateTokens(input);
        } finally {
          inFlight -= 1;
        }
      },
      slowRateBucket: (input) => store.slowRateBucket(input),
    };
    const clock = createFakeClock();
    const limiters = [0, 1, 2].map(() =>
      createSharedRateLimiter({ store: counted, bucket: BUCKET, ratePerSecond: RATE, clock, sleep: clock.sleep, logger: quietLogger }),
    );
    const got = await drive(clock, limiters, 2000);
    const total = got.reduce((a, b) => a + b, 0);
    // Two seconds at 100/s, plus what the bucket holds at the start (a tenth of a second) and the
    // slice each instance may still hold: never more.
    expect(total).toBeLessThanOrEqual(2 * RATE + RATE / 10 + 3 * Math.ceil(RATE / 40));
    expect(total).toBeGreaterThan(RATE);
    for (const n of got) expect(n).toBeGreaterThan(0);

    // One instance hears REQUEST_TRAFFIC_EXCEED_LIMIT: all three run at a quarter of the rate.
    limiters[0]!.slowDown(clock.now() + 10_000, 0.25);
    await until(async () => (await store.takeRateTokens({ bucket: BUCKET, want: 0, ratePerSecond: RATE, burst: RATE / 10, now: clock.now() })).rate === RATE * 0.25, {
      message: 'the bucket slowed down',
    });
    const slowed = await drive(clock, limiters, 2000);
    expect(slowed.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2 * RATE * 0.25 + RATE / 10 + 3 * Math.ceil(RATE / 40));
    expect(limiters[2]!.currentRate()).toBe(RATE * 0.25);
  });
});
