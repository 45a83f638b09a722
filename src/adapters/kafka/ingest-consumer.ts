import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { TrackRefunds } from '../../app/track-refunds.js';
import { createTraceStarter } from '../tracing/trace-ids.js';
import { createConsumerLag, type PartitionLag } from './consumer-lag.js';
import { createDeadLetterWriter } from './dead-letter.js';
import { createBatchHandler } from './ingest-batch.js';
import { createChunkWriter } from './ingest-chunk.js';
import { createConsumerLifecycle } from './ingest-lifecycle.js';
import { createPartitionPauses } from './ingest-pauses.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from './ingest-restarts.js';
import type { RecordSender } from './producer.js';

export interface IngestStats {
  records: number;
  tracked: number;
  duplicates: number;
  /** Records whose refundRequestId is tracked under another refundId (dead-lettered). */
  conflicts: number;
  deadLettered: number;
  /** Dead-lettered records too large to copy whole: sent as a stub (see DLQ_HEADERS). */
  stubbed: number;
  batches: number;
  /** Store writes that failed and were retried (outages, and the batches split to find a refused record). */
  storeRetries: number;
  /** Times a partition was paused because the store or the dead-letter topic could not be written. */
  pauses: number;
  /** Times the consumer was rebuilt after kafkajs gave up on it. */
  restarts: number;
  lastBatchAt?: number;
}

interface IngestHealth {
  readonly ok: boolean;
  /** Why not: each reason names what is wrong and since when. */
  readonly problems: readonly string[];
}

export interface IngestConsumer {
  /** Subscribes and starts consuming; resolves once the consumer has joined its group. */
  start(): Promise<void>;
  /** Lets the running batch finish, commits what is durable, leaves the group. Idempotent. */
  stop(): Promise<void>;
  readonly stats: Readonly<IngestStats>;
  /** Whether the consumer is in its group and fetching (for /readyz). */
  isHealthy(): boolean;
  /** isHealthy with the reasons: a crashed consumer, a paused partition and why (for /readyz). */
  health(): IngestHealth;
  /** The group's lag per partition of the input topic, from the broker (consumer-lag.ts; for /metrics). */
  lag(): Promise<readonly PartitionLag[]>;
}

interface IngestConsumerOptions {
  kafka: Kafka;
  /** Shared producer for the dead-letter topic (idempotent, acks=all). */
  producer: RecordSender;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  antomApi: 'v1' | 'v2';
  /** Largest number of records written in one store transaction. */
  batchSize: number;
  track: TrackRefunds;
  logger: Logger;
  /**
   * The consumer cannot be brought back (kafkajs gave up and rebuilding it failed, or it keeps
   * crashing): the process should exit non-zero so an orchestrator restarts it. A consumer that
   * sits idle while the process looks healthy loses nothing but helps nobody.
   */
  onFatal?: (err: Error) => void;
  /** Epoch ms: the consumption time that stands in for an unusable record timestamp. */
  now?: () => number;
  /** New groups start from the earliest offset: a refund produced before we first ran is not lost. */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  partitionsConsumedConcurrently?: number;
  /**
   * The largest produce request to the dead-letter topic, and the largest record copied whole.
   * Defaults fit the broker's default `max.message.bytes` (1 MiB) with room for headers and
   * framing; a topic configured smaller still works (a MESSAGE_TOO_LARGE answer splits the
   * request, then stubs the record).
   */
  deadLetterMaxBytes?: number;
  deadLetterMaxRecordBytes?: number;
  /** How often and how fast a crashed consumer is rebuilt before onFatal (defaults: 5 in 10 minutes, from 1 s). */
  restarts?: RestartPolicy;
}

/**
 * The Kafka side of the ingest. The handler only records (docs/architecture.md): decode, validate, make
 * durable or dead-letter, then resolve the offsets (ingest-batch.ts, ingest-chunk.ts). Offsets are
 * resolved only after the records below them are durable (tracked, or written to the dead-letter
 * topic), so a crash at any point redelivers, and redelivery is harmless because tracking is
 * idempotent.
 *
 * What may cost a record (docs/ingest.md): only the record itself — it fails validation, or the
 * store refuses its data, or it clashes with a tracked refund. What may not: an outage. When the
 * store cannot be written or the dead-letter topic cannot take a record, nothing is dead-lettered
 * and nothing committed; the partition is paused and tried again with backoff (ingest-pauses.ts),
 * and /readyz says why.
 */
export function createIngestConsumer(options: IngestConsumerOptions): IngestConsumer {
  const log = options.logger.child({ component: 'ingest', topic: options.topic });
  const now = options.now ?? (() => Date.now());
  const stats: IngestStats = {
    records: 0,
    tracked: 0,
    duplicates: 0,
    conflicts: 0,
    deadLettered: 0,
    stubbed: 0,
    batches: 0,
    storeRetries: 0,
    pauses: 0,
    restarts: 0,
  };
  let stopping = false;
  let stopPromise: Promise<void> | undefined;
  const isStopping = () => stopping;

  const deadLetters = createDeadLetterWriter({
    producer: options.producer,
    topic: options.deadLetterTopic,
    groupId: options.groupId,
    logger: log,
    maxRequestBytes: options.deadLetterMaxBytes,
    maxRecordBytes: options.deadLetterMaxRecordBytes,
  });
  const pauses = createPartitionPauses({ now, log, stats });
  const eachBatch = createBatchHandler({
    batchSize: options.batchSize,
    antomApi: options.antomApi,
    writeChunk: createChunkWriter({ track: options.track, deadLetters, stats, log }),
    pauses,
    stats,
    now,
    isStopping,
    startTrace: createTraceStarter(),
    log,
  });
  const lifecycle = createConsumerLifecycle({
    kafka: options.kafka,
    groupId: options.groupId,
    topic: options.topic,
    fromBeginning: options.fromBeginning ?? true,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
    eachBatch,
    onAssigned: (partitions) => pauses.keepOnly(partitions),
    restarts: options.restarts ?? DEFAULT_RESTART_POLICY,
    onFatal: options.onFatal,
    isStopping,
    stats,
    now,
    log,
  });

  const lag = createConsumerLag({ kafka: options.kafka, groupId: options.groupId, topic: options.topic, now, log });

  function health(): IngestHealth {
    const problems = [...(stopping ? ['stopping'] : lifecycle.problems()), ...pauses.problems()];
    return { ok: problems.length === 0, problems };
  }

  return {
    stats,
    isHealthy: () => health().ok,
    health,
    lag: () => lag.read(),
    start: () => lifecycle.start(),
    stop() {
      stopPromise ??= (async () => {
        stopping = true;
        pauses.cancelResumes();
        await lifecycle.stop();
        await lag.close();
        log.info({ ...stats }, 'ingest stopped');
      })();
      return stopPromise;
    },
  };
}
