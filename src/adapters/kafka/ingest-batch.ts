import type { EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import { traceIdOf } from '../../domain/trace-context.js';
import { parseRefundRecords, type TraceIgnored } from './decode-record.js';
import type { WriteChunk } from './ingest-chunk.js';
import type { IngestStats } from './ingest-consumer.js';
import { describeError, IngestOutage } from './ingest-errors.js';
import type { PartitionPauses } from './ingest-pauses.js';

/**
 * kafkajs' eachBatch for the ingest: the batch in chunks of at most `batchSize` records, each
 * parsed, made durable, and only then committed past. Offsets are resolved only after the records
 * below them are durable, so a crash at any point redelivers, and redelivery is harmless because
 * tracking is idempotent. An outage pauses the partition (ingest-pauses.ts) and ends the batch.
 */

// kafkajs evicts a member whose session times out; a store write that hangs (a lock, a slow
// disk, a dead-letter send retrying a missing topic) must not cost the partitions, so heartbeats
// go on while a chunk is written. kafkajs sends one only when its heartbeatInterval (3 s) has
// passed since the last; asking every second keeps the gap near 3 s (asking every 3 s would skip
// every other tick and leave 6 s gaps, a whole session in the tests).
const HEARTBEAT_EVERY_MS = 1_000;

export function createBatchHandler(deps: {
  batchSize: number;
  antomApi: 'v1' | 'v2';
  writeChunk: WriteChunk;
  pauses: PartitionPauses;
  stats: IngestStats;
  now: () => number;
  isStopping: () => boolean;
  /** Starts a trace for a record that carries none (docs/operations.md, "Tracing"). */
  startTrace?: () => string;
  log?: Logger;
}): (payload: EachBatchPayload) => Promise<void> {
  const { stats, pauses, now, isStopping } = deps;
  // Never a reason to dead-letter: the record is tracked under a new trace, and a debug line says why.
  const logIgnored = (partition: number, ignored: readonly TraceIgnored[]) => {
    for (const t of ignored) {
      deps.log?.debug({ partition, offset: t.offset, trace_id: traceIdOf(t.traceparent), reason: t.reasons.join('; ') }, 'trace context of the record ignored');
    }
  };

  return async (payload) => {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    stats.batches += 1;
    const byOffset = new Map(batch.messages.map((m) => [m.offset, m]));
    const where = { topic: batch.topic, partition: batch.partition, antomApi: deps.antomApi };
    // Heartbeats go on while a chunk is written (kafkajs sends at most one per heartbeatInterval).
    const beat = setInterval(() => {
      if (!isStopping()) void heartbeat().catch(() => undefined);
    }, HEARTBEAT_EVERY_MS);
    beat.unref();
    // A one-deep pipeline: while the store writes chunk i (on its own thread for SQLite), this
    // thread decodes and validates chunk i+1. Offsets are still resolved strictly in order, and
    // only once the chunk below them is durable.
    let inflight: { done: Promise<IngestOutage | undefined>; lastOffset: string; size: number } | undefined;
    const settle = async (): Promise<boolean> => {
      if (!inflight) return true;
      const { done, lastOffset, size } = inflight;
      inflight = undefined;
      pauses.writing(batch.partition);
      const outage = await done;
      pauses.written(batch.partition);
      if (outage) {
        pauses.pause(payload, outage);
        return false;
      }
      stats.records += size;
      stats.lastBatchAt = Date.now();
      pauses.recovered(batch.partition);
      resolveOffset(lastOffset);
      // A rebalance surfaces here as an error: it ends this batch, and kafkajs commits what was
      // resolved and rejoins (the chunk in flight, if any, never rejects; see below). Not while
      // stopping: a heartbeat then may reconnect a broker connection that disconnect() no longer
      // knows of (kafkajs drops a crashed broker from its pool without closing it), which would
      // hold the process open after stop().
      if (!isStopping()) await heartbeat();
      return true;
    };
    try {
      for (let i = 0; i < batch.messages.length; i += deps.batchSize) {
        if (isStopping() || !isRunning() || isStale()) break;
        const chunk = batch.messages.slice(i, i + deps.batchSize);
        const { good, bad, traceIgnored } = parseRefundRecords(chunk, where, now(), deps.startTrace);
        if (traceIgnored.length > 0) logIgnored(batch.partition, traceIgnored);
        // Never rejects: an outage is its value, so an earlier chunk's failure can never surface
        // as an unhandled rejection while a later one is awaited.
        const done = deps.writeChunk({ topic: batch.topic, partition: batch.partition, good, bad, byOffset }).then(
          () => undefined,
          (err: unknown) => (err instanceof IngestOutage ? err : new IngestOutage(`ingest failed: ${describeError(err)}`, { cause: err })),
        );
        if (!(await settle())) {
          await done;
          return;
        }
        inflight = { done, lastOffset: chunk[chunk.length - 1]!.offset, size: chunk.length };
      }
      await settle();
    } finally {
      clearInterval(beat);
    }
  };
}
