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

const RATE = 100;

describe('the shared Antom budget', () => {
  let store: RefundStore;
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
      // Real time for the store's worker thread to answer the takes this step woke.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    stop.abort();
    clock.advance(60_000);
    await Promise.all(loops);
    return got;
  }

  it('holds three instances together to the budget, each with a share, and slows them all at once', async () => {
    store = await createMemoryStore();
    const clock = createFakeClock();
    const limiters = [0, 1, 2].map(() =>
      createSharedRateLimiter({ store, bucket: 'antom:SANDBOX_TEST', ratePerSecond: RATE, clock, sleep: clock.sleep, logger: quietLogger }),
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
    await new Promise((resolve) => setTimeout(resolve, 20));
    const slowed = await drive(clock, limiters, 2000);
    expect(slowed.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2 * RATE * 0.25 + RATE / 10 + 3 * Math.ceil(RATE / 40));
    expect(limiters[2]!.currentRate()).toBe(RATE * 0.25);
  });
});
