import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SLOWDOWN_MAX_FACTOR } from '../../src/app/poll-inquiry.js';
import { createPollLoop } from '../../src/app/poll-refunds.js';
import type { RateLimiter } from '../../src/app/rate-limiter.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { createSqliteStore } from '../../src/adapters/store/sqlite.js';
import { sleep } from '../../src/adapters/timers.js';
import { newRefund } from '../contract/refund-store.contract.js';
import { until } from '../support/until.js';

const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('poll loop: a traffic limit with an absurd Retry-After', () => {
  it('slows the instance for at most SLOWDOWN_MAX_FACTOR × ANTOM_SLOWDOWN, and delays the refund at most POLL_MAX_INTERVAL', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const now = Date.now();
    await store.trackRefunds([newRefund(1)], { now, firstPollAt: now });
    const slowDowns: Array<{ until: number; factor: number }> = [];
    const limiter: RateLimiter = { acquire: async () => true, slowDown: (until, factor) => slowDowns.push({ until, factor }), currentRate: () => 10 };
    const schedule = { firstDelayMs: 1000, maxIntervalMs: 30 * 60_000, stalledAfterMs: 86_400_000, giveUpAfterMs: 30 * 86_400_000, notFoundGraceMs: 3_600_000, jitter: 0.2 };
    const loop = createPollLoop({
      store,
      // An unsigned 429 from something in front of Antom, asking for 31 years.
      antom: { inquireRefund: async () => ({ kind: 'transport-error', api: 'v2', error: 'http-status', httpStatus: 429, message: 'HTTP 429', retryAfterMs: 999_999_999_000 }) },
      classify: () => ({ kind: 'retry', reason: 'REQUEST_TRAFFIC_EXCEED_LIMIT', slowDown: true, retryAfterMs: 999_999_999_000, alert: false }),
      limiter,
      clock: { now: () => Date.now() },
      random: () => 0.5,
      sleep,
      logger,
      schedule,
      topics: { completed: 'c', failed: 'f', stalled: 's' },
      api: 'v2',
      concurrency: 1,
      owner: 'test',
      requestTimeoutMs: 1000,
      slowDownMs: 60_000,
    });
    loop.start();
    try {
      await until(async () => (await store.getRefund('R-000001'))!.inquiries === 1, { message: 'one inquiry recorded' });
    } finally {
      await loop.stop();
    }
    expect(slowDowns).toHaveLength(1);
    expect(slowDowns[0]!.until - Date.now()).toBeLessThanOrEqual(SLOWDOWN_MAX_FACTOR * 60_000);
    expect(slowDowns[0]!.until - Date.now()).toBeGreaterThan(60_000);
    const refund = (await store.getRefund('R-000001'))!;
    expect(refund.nextPollAt! - Date.now()).toBeLessThanOrEqual(schedule.maxIntervalMs);
    await store.close();
  });
});
