import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EachBatchPayload } from 'kafkajs';
import { pino } from 'pino';
import type { IngestStats } from '../../src/adapters/kafka/ingest-consumer.js';
import { IngestOutage } from '../../src/adapters/kafka/ingest-errors.js';
import { createPartitionPauses } from '../../src/adapters/kafka/ingest-pauses.js';

// A partition that cannot write is paused and tried again with backoff, and /readyz says why;
// partitions that move to another member are forgotten.

const START = Date.parse('2026-11-25T10:00:00Z');

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});
afterEach(() => vi.useRealTimers());

function setUp() {
  const stats = { pauses: 0 } as IngestStats;
  const pauses = createPartitionPauses({ now: () => Date.now(), log: pino({ level: 'silent' }), stats });
  const resumed: number[] = [];
  const payload = (partition: number) =>
    ({ batch: { partition }, pause: () => () => resumed.push(partition) }) as unknown as EachBatchPayload;
  return { pauses, stats, resumed, payload };
}

describe('partition pauses', () => {
  it('resumes after 0.5 s, then after twice as long for each failure in a row', () => {
    const { pauses, stats, resumed, payload } = setUp();
    const waits: number[] = [];
    for (let failure = 0; failure < 3; failure += 1) {
      const pausedAt = Date.now();
      pauses.pause(payload(1), new IngestOutage('the store cannot be written'));
      while (resumed.length === failure) vi.advanceTimersByTime(100);
      waits.push(Date.now() - pausedAt);
    }
    expect(waits).toEqual([500, 1000, 2000]);
    expect(stats.pauses).toBe(3);
    expect(pauses.problems()).toEqual([`partition 1 paused since ${new Date(START).toISOString()} (3 tries): the store cannot be written`]);
    pauses.recovered(1);
    expect(pauses.problems()).toEqual([]);
    pauses.pause(payload(1), new IngestOutage('again'));
    vi.advanceTimersByTime(500);
    expect(resumed).toHaveLength(4);
  });

  it('reports a write that waits 10 s or more, unless its partition is paused anyway', () => {
    const { pauses, payload } = setUp();
    pauses.writing(2);
    pauses.writing(0);
    vi.advanceTimersByTime(9_999);
    expect(pauses.problems()).toEqual([]);
    vi.advanceTimersByTime(1);
    // A second wait on the same partition keeps the first one's start.
    pauses.writing(2);
    const since = new Date(START).toISOString();
    expect(pauses.problems()).toEqual([
      `partition 0: a write to the store or the dead-letter topic has been waiting since ${since}`,
      `partition 2: a write to the store or the dead-letter topic has been waiting since ${since}`,
    ]);
    pauses.pause(payload(2), new IngestOutage('down'));
    pauses.written(0);
    expect(pauses.problems()).toEqual([`partition 2 paused since ${new Date(START + 10_000).toISOString()} (1 tries): down`]);
  });

  it('forgets partitions that moved to another member, and resumes none of them', () => {
    const { pauses, resumed, payload } = setUp();
    pauses.pause(payload(0), new IngestOutage('down'));
    pauses.pause(payload(1), new IngestOutage('down'));
    pauses.writing(3);
    pauses.keepOnly(new Set([1]));
    vi.advanceTimersByTime(60_000);
    expect(resumed).toEqual([1]);
    expect(pauses.problems()).toEqual([`partition 1 paused since ${new Date(START).toISOString()} (1 tries): down`]);
  });

  it('resumes nothing once stopping', () => {
    const { pauses, resumed, payload } = setUp();
    pauses.pause(payload(0), new IngestOutage('down'));
    pauses.cancelResumes();
    vi.advanceTimersByTime(60_000);
    expect(resumed).toEqual([]);
  });
});
