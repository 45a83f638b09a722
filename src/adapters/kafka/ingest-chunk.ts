import type { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { TrackRefunds } from '../../app/track-refunds.js';
import { isRetriable } from '../../domain/errors.js';
import type { NewRefund } from '../../domain/refund.js';
import type { DeadLetterWriter, Rejected } from './dead-letter.js';
import { describeError, IngestOutage, storeOutage } from './ingest-errors.js';
import type { IngestStats } from './ingest-consumer.js';

/**
 * Makes one chunk of a partition's records durable: the bad ones dead-lettered, the good ones
 * tracked, and the ones the store refuses or that clash with a tracked refund dead-lettered too
 * (docs/ingest.md). What may cost a record is only the record itself; an outage (the store or the
 * dead-letter topic cannot be written) throws an IngestOutage and costs nothing.
 */

// Records refused by the store itself (not by validation) in a row before the refusals count as
// an outage: after validation a refused record is rare (one bad value, one clash), while twenty
// in a row means the store, not the data, is the problem (a migration missing, a column too
// short, a trigger) — dead-lettering on would move valid refunds away from polling.
const REFUSALS_BEFORE_OUTAGE = 20;

export interface Chunk {
  readonly topic: string;
  readonly partition: number;
  readonly good: readonly NewRefund[];
  readonly bad: readonly Rejected[];
  /** The batch's records by offset: a refund refused later is dead-lettered as its record. */
  readonly byOffset: ReadonlyMap<string, KafkaMessage>;
}

/**
 * Resolves when all of a chunk is durable; rejects with an IngestOutage when something could not
 * be written, and then nothing of the chunk may be committed (what did get written is written
 * again on redelivery, harmlessly).
 */
export type WriteChunk = (chunk: Chunk) => Promise<void>;

export function createChunkWriter(deps: {
  track: TrackRefunds;
  deadLetters: DeadLetterWriter;
  stats: IngestStats;
  log: Logger;
}): WriteChunk {
  const { stats, log } = deps;
  // Shared by every partition: a store that refuses everything does so whichever partition asks.
  let refusedInARow = 0;

  /** Dead-letters, or throws an IngestOutage: the records must then not be committed past. */
  async function deadLetter(chunk: Chunk, rejected: readonly Rejected[]): Promise<void> {
    try {
      await deps.deadLetters.write({ topic: chunk.topic, partition: chunk.partition }, rejected);
    } catch (err) {
      throw new IngestOutage(err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      stats.deadLettered = deps.deadLetters.stats.deadLettered;
      stats.stubbed = deps.deadLetters.stats.stubbed;
    }
  }

  /** Tracks refunds; the ones that clash with a tracked refund go to the dead-letter topic. */
  async function record(chunk: Chunk, refunds: readonly NewRefund[]): Promise<void> {
    const result = await deps.track(refunds);
    stats.tracked += result.inserted.length;
    stats.duplicates += result.duplicates;
    if (result.inserted.length > 0) refusedInARow = 0;
    if (result.conflicts.length > 0) {
      stats.conflicts += result.conflicts.length;
      await deadLetter(
        chunk,
        result.conflicts.map((c) => ({ message: chunk.byOffset.get(c.refund.origin.offset)!, reason: c.reason })),
      );
    }
  }

  /** The store refuses something in this chunk: one record at a time, to find which. */
  async function recordOneByOne(chunk: Chunk): Promise<void> {
    const refused: Rejected[] = [];
    for (const refund of chunk.good) {
      try {
        await record(chunk, [refund]);
        refusedInARow = 0;
      } catch (err) {
        if (isRetriable(err)) throw storeOutage(err);
        refusedInARow += 1;
        // Unless the refusals pile up: then it is the store, not the data.
        if (refusedInARow >= REFUSALS_BEFORE_OUTAGE) {
          throw new IngestOutage(
            `the store refused ${refusedInARow} records in a row (last: ${describeError(err)}); treated as an outage, nothing more is dead-lettered until a write succeeds`,
            { cause: err },
          );
        }
        refused.push({ message: chunk.byOffset.get(refund.origin.offset)!, reason: `the store refused the record: ${describeError(err)}` });
      }
    }
    await deadLetter(chunk, refused);
  }

  return async (chunk) => {
    await deadLetter(chunk, chunk.bad);
    if (chunk.good.length === 0) return;
    try {
      await record(chunk, chunk.good);
      return;
    } catch (err) {
      stats.storeRetries += 1;
      if (isRetriable(err)) throw storeOutage(err);
      log.warn({ err, partition: chunk.partition, records: chunk.good.length }, 'the store refused a batch; writing it record by record to find the refused one');
    }
    await recordOneByOne(chunk);
  };
}
