import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import type { TrackResult } from '../../src/app/ports.js';
import { StoreRefusedDataError, StoreUnavailableError } from '../../src/domain/errors.js';
import type { NewRefund } from '../../src/domain/refund.js';
import type { DeadLetterWriter, Rejected } from '../../src/adapters/kafka/dead-letter.js';
import { createChunkWriter, type Chunk } from '../../src/adapters/kafka/ingest-chunk.js';
import type { IngestStats } from '../../src/adapters/kafka/ingest-consumer.js';
import { IngestOutage } from '../../src/adapters/kafka/ingest-errors.js';

// What one chunk may cost (docs/ingest.md): a record only for itself (invalid, refused by the
// store, clashing with a tracked refund); an outage costs nothing and throws an IngestOutage.

const log = pino({ level: 'silent' });

function stats(): IngestStats {
  return { records: 0, tracked: 0, duplicates: 0, conflicts: 0, deadLettered: 0, stubbed: 0, batches: 0, storeRetries: 0, pauses: 0, restarts: 0 };
}

function deadLetterTopic(options: { fails?: boolean } = {}) {
  const written: { offset: string; reason: string }[] = [];
  const writer: DeadLetterWriter = {
    stats: { deadLettered: 0, stubbed: 0 },
    async write(_source, rejected) {
      if (options.fails) throw new Error('This server does not host this topic-partition');
      for (const r of rejected) written.push({ offset: r.message.offset, reason: r.reason });
      (writer.stats as { deadLettered: number }).deadLettered += rejected.length;
    },
  };
  return { writer, written };
}

/** A chunk of `good` refunds at offsets 0.., then `bad` records after them. */
function chunk(good: number, bad: number): Chunk {
  const messages: KafkaMessage[] = Array.from({ length: good + bad }, (_, i) => ({ offset: String(i) }) as KafkaMessage);
  return {
    topic: 'refunds.initiated',
    partition: 0,
    good: messages.slice(0, good).map((m) => ({ id: `R-${m.offset}`, origin: { offset: m.offset } }) as unknown as NewRefund),
    bad: messages.slice(good).map((message): Rejected => ({ message, reason: 'refundId: required' })),
    byOffset: new Map(messages.map((m) => [m.offset, m])),
  };
}

const tracked = (refunds: readonly NewRefund[]): TrackResult => ({ inserted: refunds.map((r) => r.id), duplicates: 0, conflicts: [] });
const refused = () => new StoreRefusedDataError('value too long for type character varying(64)', '22001');

describe('the chunk writer', () => {
  it('dead-letters the invalid records, tracks the valid ones, and dead-letters the ones that clash', async () => {
    const s = stats();
    const dlq = deadLetterTopic();
    const write = createChunkWriter({
      track: async (refunds) => ({
        inserted: refunds.slice(1).map((r) => r.id),
        duplicates: 0,
        conflicts: [{ refund: refunds[0]!, reason: 'refundRequestId rr-1 is tracked under refundId R-9' }],
      }),
      deadLetters: dlq.writer,
      stats: s,
      log,
    });
    await write(chunk(3, 1));
    expect(dlq.written).toEqual([
      { offset: '3', reason: 'refundId: required' },
      { offset: '0', reason: 'refundRequestId rr-1 is tracked under refundId R-9' },
    ]);
    expect(s).toMatchObject({ tracked: 2, conflicts: 1, deadLettered: 2, storeRetries: 0 });
  });

  it('finds the record the store refuses by writing one at a time, and dead-letters only that one', async () => {
    const s = stats();
    const dlq = deadLetterTopic();
    const write = createChunkWriter({
      track: async (refunds) => {
        if (refunds.some((r) => r.id === 'R-1')) throw refused();
        return tracked(refunds);
      },
      deadLetters: dlq.writer,
      stats: s,
      log,
    });
    await write(chunk(3, 0));
    expect(dlq.written).toEqual([
      { offset: '1', reason: 'the store refused the record: StoreRefusedDataError: value too long for type character varying(64)' },
    ]);
    expect(s).toMatchObject({ tracked: 2, storeRetries: 1, deadLettered: 1 });
  });

  it('treats a store that cannot be written as an outage: nothing of the good records is dead-lettered', async () => {
    const dlq = deadLetterTopic();
    const write = createChunkWriter({
      track: async () => {
        throw new StoreUnavailableError('connect ECONNREFUSED', 'ECONNREFUSED');
      },
      deadLetters: dlq.writer,
      stats: stats(),
      log,
    });
    await expect(write(chunk(2, 1))).rejects.toThrow(new IngestOutage('the store cannot be written: StoreUnavailableError: connect ECONNREFUSED'));
    // The invalid record was written before the store was tried; on redelivery it is written again.
    expect(dlq.written.map((w) => w.offset)).toEqual(['2']);
  });

  it('treats twenty refusals in a row as an outage, not as twenty bad records', async () => {
    const dlq = deadLetterTopic();
    const write = createChunkWriter({
      track: async () => {
        throw refused();
      },
      deadLetters: dlq.writer,
      stats: stats(),
      log,
    });
    await expect(write(chunk(25, 0))).rejects.toThrow(/^the store refused 20 records in a row \(last: StoreRefusedDataError/);
    expect(dlq.written).toEqual([]);
  });

  it('counts the refusals across chunks until a write succeeds', async () => {
    let failing = true;
    const write = createChunkWriter({
      track: async (refunds) => {
        if (failing) throw refused();
        return tracked(refunds);
      },
      deadLetters: deadLetterTopic().writer,
      stats: stats(),
      log,
    });
    await write(chunk(19, 0));
    failing = false;
    await write(chunk(1, 0));
    failing = true;
    // 19 refusals, then a success: the count starts over, and 19 more are still single records.
    await expect(write(chunk(19, 0))).resolves.toBeUndefined();
    await expect(write(chunk(1, 0))).rejects.toBeInstanceOf(IngestOutage);
  });

  it('treats a dead-letter topic that cannot be written as an outage', async () => {
    const write = createChunkWriter({ track: async (r) => tracked(r), deadLetters: deadLetterTopic({ fails: true }).writer, stats: stats(), log });
    await expect(write(chunk(1, 1))).rejects.toThrow(new IngestOutage('This server does not host this topic-partition'));
  });
});
