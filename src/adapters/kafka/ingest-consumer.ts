import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { TrackRefunds } from '../../app/track-refunds.js';
import type { NewRefund } from '../../domain/refund.js';
import { parseRefundRecord } from './decode-record.js';

export interface IngestStats {
  records: number;
  tracked: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  storeRetries: number;
  lastBatchAt?: number;
}

export interface IngestConsumer {
  /** Subscribes and starts consuming; resolves once the consumer has joined its group. */
  start(): Promise<void>;
  /** Lets the running batch finish, commits what is durable, leaves the group. Idempotent. */
  stop(): Promise<void>;
  readonly stats: Readonly<IngestStats>;
  /** Whether the consumer is in its group and fetching (for /readyz). */
  isHealthy(): boolean;
}

export interface IngestConsumerOptions {
  kafka: Kafka;
  /** Shared producer for the dead-letter topic (idempotent, acks=all). */
  producer: Producer;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  antomApi: 'v1' | 'v2';
  /** Largest number of records written in one store transaction. */
  batchSize: number;
  track: TrackRefunds;
  /** Pings the store: tells a poison record apart from a store that is down. */
  storeHealthy: () => Promise<boolean>;
  logger: Logger;
  /** New groups start from the earliest offset: a refund produced before we first ran is not lost. */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  partitionsConsumedConcurrently?: number;
}

/** The dead-letter headers of the contract, plus the source timestamp and group for forensics. */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  topic: 'x-dlq-source-topic',
  partition: 'x-dlq-source-partition',
  offset: 'x-dlq-source-offset',
  timestamp: 'x-dlq-source-timestamp',
  group: 'x-dlq-consumer-group',
} as const;

// A reason is for humans and must fit comfortably in a header; the first problems say enough.
const REASON_MAX = 1000;

interface Rejected {
  message: KafkaMessage;
  reason: string;
}

/**
 * The Kafka side of the ingest. The handler only records (STYLE.md): decode, validate, make
 * durable or dead-letter, then resolve the offsets. Offsets are resolved only after the records
 * below them are durable, so a crash at any point redelivers, and redelivery is harmless because
 * tracking is idempotent.
 */
export function createIngestConsumer(options: IngestConsumerOptions): IngestConsumer {
  const log = options.logger.child({ component: 'ingest', topic: options.topic });
  const stats: IngestStats = { records: 0, tracked: 0, duplicates: 0, deadLettered: 0, batches: 0, storeRetries: 0 };
  let consumer: Consumer | undefined;
  let stopping = false;
  let joined = false;
  let crashed = false;
  let stopPromise: Promise<void> | undefined;

  function classify(batch: EachBatchPayload['batch'], messages: KafkaMessage[]) {
    const good: NewRefund[] = [];
    const bad: Rejected[] = [];
    const where = { topic: batch.topic, partition: batch.partition, antomApi: options.antomApi };
    for (const message of messages) {
      const result = parseRefundRecord(message, where);
      if (result.ok) good.push(result.refund);
      else bad.push({ message, reason: result.reason });
    }
    return { good, bad };
  }

  async function deadLetter(topic: string, partition: number, rejected: Rejected[]): Promise<void> {
    if (rejected.length === 0) return;
    const messages: Message[] = rejected.map(({ message, reason }) => {
      const headers: IHeaders = { ...(message.headers ?? {}) };
      headers[DLQ_HEADERS.reason] = reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX - 1)}…` : reason;
      headers[DLQ_HEADERS.topic] = topic;
      headers[DLQ_HEADERS.partition] = String(partition);
      headers[DLQ_HEADERS.offset] = message.offset;
      headers[DLQ_HEADERS.timestamp] = message.timestamp;
      headers[DLQ_HEADERS.group] = options.groupId;
      // The value travels unchanged, byte for byte, so it can be inspected or replayed as it was.
      return { key: message.key, value: message.value, headers };
    });
    await options.producer.send({ topic: options.deadLetterTopic, messages, acks: -1 });
    stats.deadLettered += rejected.length;
    for (const { message, reason } of rejected) {
      log.warn({ partition, offset: message.offset, reason }, 'record dead-lettered');
    }
  }

  /**
   * Writes until durable. A failing store is retried with backoff (heartbeating, so the group
   * does not evict us); if the store answers pings but keeps refusing this batch, the records are
   * tried one by one and the one it refuses goes to the dead-letter topic — a poison record must
   * never stall the partition, but a store outage must never dead-letter good records.
   */
  async function makeDurable(payload: EachBatchPayload, good: NewRefund[], chunk: KafkaMessage[]): Promise<boolean> {
    const { heartbeat, isRunning, isStale } = payload;
    let failures = 0;
    for (;;) {
      try {
        const result = await options.track(good);
        stats.tracked += result.inserted.length;
        stats.duplicates += result.duplicates;
        return true;
      } catch (err) {
        failures += 1;
        stats.storeRetries += 1;
        log.error({ err, failures, records: good.length }, 'store write failed; retrying');
        if (stopping || !isRunning() || isStale()) return false;
        // Three failures in a row while the store answers pings means it refuses this data.
        if (failures >= 3 && good.length > 0 && (await options.storeHealthy())) {
          return isolatePoison(payload, good, new Map(chunk.map((m) => [m.offset, m])));
        }
        await heartbeat();
        await delay(Math.min(200 * 2 ** Math.min(failures, 6), 10_000));
      }
    }
  }

  async function isolatePoison(
    payload: EachBatchPayload,
    good: NewRefund[],
    byOffset: Map<string, KafkaMessage>,
  ): Promise<boolean> {
    for (const refund of good) {
      try {
        const result = await options.track([refund]);
        stats.tracked += result.inserted.length;
        stats.duplicates += result.duplicates;
      } catch (err) {
        if (!(await options.storeHealthy())) return false;
        const message = byOffset.get(refund.origin.offset)!;
        await deadLetter(payload.batch.topic, payload.batch.partition, [
          { message, reason: `the store refused the record: ${(err as Error).message}` },
        ]);
      }
      await payload.heartbeat();
    }
    return true;
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    stats.batches += 1;
    // A one-deep pipeline: while the store writes chunk i (on its own thread for SQLite), this
    // thread decodes and validates chunk i+1. Offsets are still resolved strictly in order, and
    // only once the chunk below them is durable.
    let inflight: { done: Promise<boolean>; lastOffset: string; size: number } | undefined;
    const settle = async (): Promise<boolean> => {
      if (!inflight) return true;
      const { done, lastOffset, size } = inflight;
      inflight = undefined;
      if (!(await done)) return false;
      stats.records += size;
      stats.lastBatchAt = Date.now();
      resolveOffset(lastOffset);
      await heartbeat();
      return true;
    };
    for (let i = 0; i < batch.messages.length; i += options.batchSize) {
      if (stopping || !isRunning() || isStale()) break;
      const chunk = batch.messages.slice(i, i + options.batchSize);
      const { good, bad } = classify(batch, chunk);
      await deadLetter(batch.topic, batch.partition, bad);
      const done = good.length > 0 ? makeDurable(payload, good, chunk) : Promise.resolve(true);
      if (!(await settle())) {
        await done.catch(() => false);
        return;
      }
      inflight = { done, lastOffset: chunk[chunk.length - 1]!.offset, size: chunk.length };
    }
    await settle();
  }

  return {
    stats,
    isHealthy: () => joined && !crashed && !stopping,

    async start() {
      consumer = options.kafka.consumer({
        groupId: options.groupId,
        sessionTimeout: options.sessionTimeoutMs ?? 30_000,
        // kafkajs fetches again only once every partition's batch of the last fetch is handled,
        // so each fetch costs a pause of the whole pipeline (offset commit, fetch, decode, first
        // chunk: ~100 ms here). 4 MiB per partition (~11,000 typical records; the fetch as a whole
        // stays within kafkajs' 10 MiB maxBytes) makes a third as many pauses as 1 MiB while
        // catching up: +20 % in bench/ingest, for ~7 MiB more fetched data held at peak.
        maxBytesPerPartition: 4_194_304,
        allowAutoTopicCreation: false,
      });
      const joinedOnce = new Promise<void>((resolve) => {
        consumer!.on(consumer!.events.GROUP_JOIN, (e) => {
          joined = true;
          crashed = false;
          log.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined consumer group');
          resolve();
        });
      });
      consumer.on(consumer.events.CRASH, (e) => {
        crashed = true;
        log.error({ err: e.payload.error, restart: e.payload.restart }, 'ingest consumer crashed');
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        eachBatchAutoResolve: false,
        autoCommit: true,
        // Several partitions in flight let one partition's records be validated while another's
        // are written; order within each partition is kept by kafkajs.
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
        eachBatch,
      });
      await joinedOnce;
    },

    stop() {
      stopPromise ??= (async () => {
        stopping = true;
        // disconnect() waits for the running eachBatch, then commits the resolved offsets.
        await consumer?.disconnect();
        joined = false;
        log.info({ ...stats }, 'ingest stopped');
      })();
      return stopPromise;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
