import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBackgroundLoop } from '../../src/app/background-loop.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { sleep } from '../../src/adapters/timers.js';
import { until } from '../support/until.js';

const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('the background loop', () => {
  it('runs rounds back to back while they do work, waits when idle, and a wake ends the wait', async () => {
    const work = [3, 2, 0];
    let rounds = 0;
    const waits: number[] = [];
    const loop = createBackgroundLoop({
      name: 'test',
      logger,
      sleep: (ms, signal) => {
        waits.push(ms);
        return sleep(ms, signal);
      },
      round: async () => {
        rounds += 1;
        return work.shift() ?? 0;
      },
      idleMs: () => 60_000,
      errorBackoffMs: 1_000,
    });
    loop.start();
    await until(() => waits.length === 1, { message: 'idle after the work ran out' });
    expect(rounds).toBe(3);
    expect(waits).toEqual([60_000]);
    loop.wake();
    await until(() => rounds === 4, { message: 'the wake ended the minute-long wait' });
    await loop.stop();
    expect(loop.isRunning()).toBe(false);
  });

  it('a wake during a round skips the wait after it', async () => {
    let rounds = 0;
    let waits = 0;
    const loop = createBackgroundLoop({
      name: 'test',
      logger,
      sleep: (ms, signal) => {
        waits += 1;
        return sleep(ms, signal);
      },
      round: async () => {
        rounds += 1;
        if (rounds === 1) loop.wake();
        return 0;
      },
      idleMs: () => 60_000,
      errorBackoffMs: 1_000,
    });
    loop.start();
    await until(() => rounds === 2 && waits === 1, { message: 'second round without waiting, then a wait' });
    await loop.stop();
  });

  it('after a round that throws it reports, waits the error backoff and goes on', async () => {
    let rounds = 0;
    const errors: unknown[] = [];
    const waits: number[] = [];
    const loop = createBackgroundLoop({
      name: 'test',
      logger,
      sleep: (ms, signal) => {
        waits.push(ms);
        return sleep(Math.min(ms, 5), signal);
      },
      round: async () => {
        rounds += 1;
        if (rounds === 1) throw new Error('store down');
        return 0;
      },
      idleMs: () => 60_000,
      errorBackoffMs: 1_000,
      onError: (err) => errors.push(err),
    });
    loop.start();
    await until(() => rounds >= 2, { message: 'a round after the failed one' });
    expect(errors).toHaveLength(1);
    expect(waits[0]).toBe(1_000);
    await loop.stop();
  });

  it('stop lets the running round finish, starts no other, returns the same promise, and start after stop does nothing', async () => {
    let release!: () => void;
    let rounds = 0;
    const loop = createBackgroundLoop({
      name: 'test',
      logger,
      sleep,
      round: async () => {
        rounds += 1;
        await new Promise<void>((resolve) => (release = resolve));
        return 1;
      },
      idleMs: () => 10,
      errorBackoffMs: 10,
    });
    loop.start();
    await until(() => rounds === 1);
    const first = loop.stop();
    expect(loop.stop()).toBe(first);
    expect(loop.signal.aborted).toBe(true);
    release();
    await first;
    loop.start();
    expect(rounds).toBe(1);
    expect(loop.isRunning()).toBe(false);
  });
});
