/**
 * The consumer lag read for /metrics (src/adapters/kafka/consumer-lag.ts): the arithmetic, how
 * often the broker is asked, and what a scrape sees while the broker does not answer. Against a
 * scripted admin client; test/integration/consumer-lag.test.ts asks a real broker.
 */
import { Writable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/log/logger.js';
import { createConsumerLag, partitionLags } from '../../src/adapters/kafka/consumer-lag.js';

const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('partitionLags', () => {
  it('is the high watermark minus the committed offset; nothing committed counts from the low watermark', () => {
    expect(
      partitionLags(
        't',
        [
          { partition: 2, high: '10', low: '4' },
          { partition: 0, high: '100', low: '0' },
          { partition: 1, high: '50', low: '20' },
        ],
        [
          { partition: 0, offset: '97' },
          { partition: 1, offset: '-1' },
        ],
      ),
    ).toEqual([
      { topic: 't', partition: 0, lag: 3 },
      { topic: 't', partition: 1, lag: 30 },
      { topic: 't', partition: 2, lag: 6 },
    ]);
  });
});

/** An admin client whose answers the test sets; counts what it was asked. */
function scriptedKafka() {
  const state = {
    high: 10,
    committed: 4,
    fail: false,
    hang: false,
    fetches: 0,
    connects: 0,
    disconnects: 0,
  };
  const answer = <T>(value: () => T): Promise<T> => {
    if (state.hang) return new Promise<T>(() => undefined);
    return state.fail ? Promise.reject(new Error('broker unreachable')) : Promise.resolve(value());
  };
  const admin = {
    connect: async () => {
      state.connects += 1;
      if (state.fail) throw new Error('connection refused');
    },
    disconnect: async () => {
      state.disconnects += 1;
    },
    fetchTopicOffsets: () => {
      state.fetches += 1;
      return answer(() => [{ partition: 0, offset: String(state.high), high: String(state.high), low: '0' }]);
    },
    fetchOffsets: () => answer(() => [{ topic: 'in', partitions: [{ partition: 0, offset: String(state.committed), metadata: null }] }]),
  };
  return { state, kafka: { admin: () => admin } as unknown as Kafka };
}

describe('createConsumerLag', () => {
  it('asks the broker at most once per refresh interval, and reconnects after a failure', async () => {
    const { state, kafka } = scriptedKafka();
    let now = 0;
    const lag = createConsumerLag({ kafka, groupId: 'g', topic: 'in', now: () => now, log, refreshMs: 10_000, staleAfterMs: 30_000 });
    expect(await lag.read()).toEqual([{ topic: 'in', partition: 0, lag: 6 }]);
    state.high = 12;
    now = 9_999;
    expect(await lag.read()).toEqual([{ topic: 'in', partition: 0, lag: 6 }]);
    expect(state.fetches).toBe(1);
    now = 10_000;
    expect(await lag.read()).toEqual([{ topic: 'in', partition: 0, lag: 8 }]);
    expect(state.fetches).toBe(2);
    expect(state.connects).toBe(1);

    // The broker stops answering: the last answer while it is fresh, then nothing.
    state.fail = true;
    now = 20_000;
    expect(await lag.read()).toEqual([{ topic: 'in', partition: 0, lag: 8 }]);
    expect(state.disconnects).toBe(1);
    now = 40_000;
    expect(await lag.read()).toEqual([]);
    state.fail = false;
    now = 50_000;
    expect(await lag.read()).toEqual([{ topic: 'in', partition: 0, lag: 8 }]);
    expect(state.connects).toBeGreaterThan(1);
    await lag.close();
  });

  it('keeps a scrape waiting at most its timeout for a broker that does not answer, and asks only once meanwhile', async () => {
    const { state, kafka } = scriptedKafka();
    state.hang = true;
    const lag = createConsumerLag({ kafka, groupId: 'g', topic: 'in', now: () => 0, log, timeoutMs: 20 });
    expect(await lag.read()).toEqual([]);
    expect(await lag.read()).toEqual([]);
    expect(state.fetches).toBe(1);
    await lag.close();
    expect(state.disconnects).toBe(1);
  });

  it('reads nothing once closed, and never connects again', async () => {
    const { state, kafka } = scriptedKafka();
    const lag = createConsumerLag({ kafka, groupId: 'g', topic: 'in', now: () => 0, log });
    expect(await lag.read()).toHaveLength(1);
    await lag.close();
    expect(await lag.read()).toEqual([]);
    expect(state).toMatchObject({ connects: 1, disconnects: 1 });
  });
});
