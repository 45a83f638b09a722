import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { RecordSender } from './producer.js';
import type { Logger } from 'pino';
import type { TrackRefunds } from '../../app/track-refunds.js';
import { exponentialBackoff } from '../../domain/backoff.js';
import { isRetriable } from '../../domain/errors.js';
import type { NewRefund } from '../../domain/refund.js';
import { KAFKA_RETRY } from './client.js';
import { withDeadline } from '../timers.js';
import { createDeadLetterWriter, type Rejected } from './dead-letter.js';
import { parseRefundRecord } from './decode-record.js';

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

export interface IngestHealth {
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
}

export interface IngestConsumerOptions {
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
  restarts?: { max: number; windowMs: number; firstDelayMs: number };
}

// Records refused by the store itself (not by validation) in a row before the refusals count as
// an outage: after validation a refused record is rare (one bad value, one clash), while twenty
// in a row means the store, not the data, is the problem (a migration missing, a column too
// short, a trigger) — dead-lettering on would move valid refunds away from polling.
const REFUSALS_BEFORE_OUTAGE = 20;
// A paused partition is tried again after 0.5 s, doubling to a minute: a short blip costs a
// second, a long outage one write a minute per partition.
const PAUSE_MIN_MS = 500;
const PAUSE_MAX_MS = 60_000;
// kafkajs evicts a member whose session times out; a store write that hangs (a lock, a slow
// disk, a dead-letter send retrying a missing topic) must not cost the partitions, so heartbeats
// go on while a chunk is written. kafkajs sends one only when its heartbeatInterval (3 s) has
// passed since the last; asking every second keeps the gap near 3 s (asking every 3 s would skip
// every other tick and leave 6 s gaps, a whole session in the tests).
const HEARTBEAT_EVERY_MS = 1_000;
// kafkajs restarts a consumer after a retriable crash itself; after a non-retriable one it gives
// up, and we rebuild it, at most this many times within RESTART_WINDOW_MS before we exit.
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 10 * 60_000;
const RESTART_FIRST_DELAY_MS = 1_000;
// A chunk whose write has not finished after this long is reported by /readyz while it waits (a
// store that hangs, a dead-letter topic that is missing: the producer retries for a minute before
// it fails the send).
const SLOW_WRITE_MS = 10_000;

/** Why a chunk could not be made durable: the partition pauses and the chunk is fetched again. */
class IngestOutage extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IngestOutage';
  }
}

/**
 * The Kafka side of the ingest. The handler only records (STYLE.md): decode, validate, make
 * durable or dead-letter, then resolve the offsets. Offsets are resolved only after the records
 * below them are durable (tracked, or written to the dead-letter topic), so a crash at any point
 * redelivers, and redelivery is harmless because tracking is idempotent.
 *
 * What may cost a record (docs/ingest.md): only the record itself — it fails validation, or the
 * store refuses its data, or it clashes with a tracked refund. What may not: an outage. When the
 * store cannot be written or the dead-letter topic cannot take a record, nothing is dead-lettered
 * and nothing committed; the partition is paused and tried again with backoff, and /readyz says
 * why.
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
  const deadLetters = createDeadLetterWriter({
    producer: options.producer,
    topic: options.deadLetterTopic,
    groupId: options.groupId,
    logger: log,
    ...(options.deadLetterMaxBytes === undefined ? {} : { maxRequestBytes: options.deadLetterMaxBytes }),
    ...(options.deadLetterMaxRecordBytes === undefined ? {} : { maxRecordBytes: options.deadLetterMaxRecordBytes }),
  });
  /** Dead-letters, or throws an IngestOutage: the records must then not be committed past. */
  const deadLetter = async (topic: string, partition: number, rejected: Rejected[]): Promise<void> => {
    try {
      await deadLetters.write({ topic, partition }, rejected);
    } catch (err) {
      throw new IngestOutage(err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      stats.deadLettered = deadLetters.stats.deadLettered;
      stats.stubbed = deadLetters.stats.stubbed;
    }
  };
  let consumer: Consumer | undefined;
  let stopping = false;
  let joined = false;
  let crashed: { at: number; error: string } | undefined;
  let stopPromise: Promise<void> | undefined;
  let refusedInARow = 0;
  const restartTimes: number[] = [];
  let restartTimer: NodeJS.Timeout | undefined;
  // Per partition: why it is paused (for /readyz), and the backoff of its next try.
  const paused = new Map<number, { since: number; reason: string; failures: number; timer?: NodeJS.Timeout }>();
  const failuresOf = new Map<number, number>();
  // Per partition: since when its current chunk has been written.
  const writingSince = new Map<number, number>();
  const restartPolicy = options.restarts ?? { max: MAX_RESTARTS, windowMs: RESTART_WINDOW_MS, firstDelayMs: RESTART_FIRST_DELAY_MS };

  function classify(batch: EachBatchPayload['batch'], messages: KafkaMessage[]) {
    const good: NewRefund[] = [];
    const bad: Rejected[] = [];
    const where = { topic: batch.topic, partition: batch.partition, antomApi: options.antomApi };
    const consumedAt = now();
    for (const message of messages) {
      // parseRefundRecord does not throw; this is the second line: whatever one record does, it
      // is that record's reason, never the batch's.
      try {
        const result = parseRefundRecord(message, where, consumedAt);
        if (result.ok) good.push(result.refund);
        else bad.push({ message, reason: result.reason });
      } catch (err) {
        bad.push({ message, reason: `the record could not be read: ${describeError(err)}` });
      }
    }
    return { good, bad };
  }

  /**
   * Makes a chunk durable: its bad records dead-lettered, its good ones tracked (and the ones that
   * clash with a tracked refund dead-lettered). Resolves when all of it is durable; rejects with an
   * IngestOutage when something could not be written, and then nothing of the chunk may be
   * committed (what did get written is written again on redelivery, harmlessly).
   */
  async function processChunk(topic: string, partition: number, good: NewRefund[], bad: Rejected[], byOffset: Map<string, KafkaMessage>): Promise<void> {
    await deadLetter(topic, partition, bad);
    if (good.length === 0) return;
    try {
      await record(good);
      return;
    } catch (err) {
      stats.storeRetries += 1;
      if (isRetriable(err)) throw storeOutage(err);
      log.warn({ err, partition, records: good.length }, 'the store refused a batch; writing it record by record to find the refused one');
    }
    // The store refuses something in this chunk: one record at a time, the refused ones to the
    // dead-letter topic, unless the refusals pile up (then it is the store, not the data).
    const refused: Rejected[] = [];
    for (const refund of good) {
      try {
        await record([refund]);
        refusedInARow = 0;
      } catch (err) {
        if (isRetriable(err)) throw storeOutage(err);
        refusedInARow += 1;
        if (refusedInARow >= REFUSALS_BEFORE_OUTAGE) {
          throw new IngestOutage(
            `the store refused ${refusedInARow} records in a row (last: ${describeError(err)}); treated as an outage, nothing more is dead-lettered until a write succeeds`,
            { cause: err },
          );
        }
        refused.push({ message: byOffset.get(refund.origin.offset)!, reason: `the store refused the record: ${describeError(err)}` });
      }
    }
    await deadLetter(topic, partition, refused);

    async function record(refunds: NewRefund[]): Promise<void> {
      const result = await options.track(refunds);
      stats.tracked += result.inserted.length;
      stats.duplicates += result.duplicates;
      if (result.inserted.length > 0) refusedInARow = 0;
      if (result.conflicts.length > 0) {
        stats.conflicts += result.conflicts.length;
        await deadLetter(
          topic,
          partition,
          result.conflicts.map((c) => ({ message: byOffset.get(c.refund.origin.offset)!, reason: c.reason })),
        );
      }
    }
  }

  function storeOutage(err: unknown): IngestOutage {
    return new IngestOutage(`the store cannot be written: ${describeError(err)}`, { cause: err });
  }

  /**
   * Stops fetching this partition for a while: the chunk that failed is fetched again from the
   * last resolved offset when the timer resumes it. Returning from eachBatch instead of sleeping
   * in it keeps rebalances and shutdown fast.
   */
  function pausePartition(payload: EachBatchPayload, err: IngestOutage): void {
    const { partition } = payload.batch;
    const failures = (failuresOf.get(partition) ?? 0) + 1;
    failuresOf.set(partition, failures);
    const waitMs = exponentialBackoff(failures, { baseMs: PAUSE_MIN_MS, capMs: PAUSE_MAX_MS });
    const previous = paused.get(partition);
    if (previous) clearTimeout(previous.timer);
    const resume = payload.pause();
    const timer = setTimeout(resume, waitMs);
    timer.unref();
    paused.set(partition, { since: previous?.since ?? now(), reason: err.message, failures, timer });
    stats.pauses += 1;
    log.error({ partition, retryInMs: waitMs, failures, reason: err.message }, 'ingest paused on this partition; nothing is dead-lettered or committed until it can write');
  }

  function recovered(partition: number): void {
    failuresOf.delete(partition);
    const entry = paused.get(partition);
    if (!entry) return;
    clearTimeout(entry.timer);
    paused.delete(partition);
    log.info({ partition, pausedForMs: now() - entry.since }, 'ingest resumed on this partition');
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    stats.batches += 1;
    const byOffset = new Map(batch.messages.map((m) => [m.offset, m]));
    // Heartbeats go on while a chunk is written (kafkajs sends at most one per heartbeatInterval).
    const beat = setInterval(() => {
      if (!stopping) void heartbeat().catch(() => undefined);
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
      if (!writingSince.has(batch.partition)) writingSince.set(batch.partition, now());
      const outage = await done;
      writingSince.delete(batch.partition);
      if (outage) {
        pausePartition(payload, outage);
        return false;
      }
      stats.records += size;
      stats.lastBatchAt = Date.now();
      recovered(batch.partition);
      resolveOffset(lastOffset);
      // A rebalance surfaces here as an error: it ends this batch, and kafkajs commits what was
      // resolved and rejoins (the chunk in flight, if any, never rejects; see below). Not while
      // stopping: a heartbeat then may reconnect a broker connection that disconnect() no longer
      // knows of (kafkajs drops a crashed broker from its pool without closing it), which would
      // hold the process open after stop().
      if (!stopping) await heartbeat();
      return true;
    };
    try {
      for (let i = 0; i < batch.messages.length; i += options.batchSize) {
        if (stopping || !isRunning() || isStale()) break;
        const chunk = batch.messages.slice(i, i + options.batchSize);
        const { good, bad } = classify(batch, chunk);
        // Never rejects: an outage is its value, so an earlier chunk's failure can never surface
        // as an unhandled rejection while a later one is awaited.
        const done = processChunk(batch.topic, batch.partition, good, bad, byOffset).then(
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
  }

  /** Builds a consumer and runs it; resolves once it joined its group. */
  async function run(): Promise<void> {
    const c = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      // kafkajs fetches again only once every partition's batch of the last fetch is handled,
      // so each fetch costs a pause of the whole pipeline (offset commit, fetch, decode, first
      // chunk: ~100 ms here). 4 MiB per partition (~11,000 typical records; the fetch as a whole
      // stays within kafkajs' 10 MiB maxBytes) makes a third as many pauses as 1 MiB while
      // catching up: +20 % in bench/ingest, for ~7 MiB more fetched data held at peak.
      maxBytesPerPartition: 4_194_304,
      allowAutoTopicCreation: false,
      // kafkajs restarts a consumer that crashed with a retriable error, also one that crashed
      // because we are disconnecting it ("write after end" on a socket the broker crash left
      // behind): it would rejoin the group and take partitions from live members after stop().
      retry: { ...KAFKA_RETRY, restartOnFailure: async () => !stopping },
    });
    consumer = c;
    // Before its first join a crash fails run() (the caller decides); after it, the crash handler
    // below rebuilds the consumer.
    let joinedYet = false;
    const joinedOnce = new Promise<void>((resolve, reject) => {
      // A crash kafkajs will not restart from, before the first join, fails the start.
      c.on(c.events.CRASH, (e) => {
        if (!e.payload.restart) reject(e.payload.error);
      });
      c.on(c.events.GROUP_JOIN, (e) => {
        joinedYet = true;
        joined = true;
        crashed = undefined;
        // Partitions that moved to another member are no longer ours to report or resume.
        const mine = new Set(e.payload.memberAssignment[options.topic] ?? []);
        for (const [partition, p] of paused) {
          if (mine.has(partition)) continue;
          clearTimeout(p.timer);
          paused.delete(partition);
          failuresOf.delete(partition);
        }
        for (const partition of writingSince.keys()) if (!mine.has(partition)) writingSince.delete(partition);
        log.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined consumer group');
        resolve();
      });
    });
    c.on(c.events.CRASH, (e) => {
      const error = e.payload.error;
      crashed = { at: now(), error: describeError(error) };
      joined = false;
      log.error({ err: error, restart: e.payload.restart }, 'ingest consumer crashed');
      // kafkajs restarts it after a retriable error; after any other it stays down unless we
      // rebuild it.
      if (!e.payload.restart && !stopping && consumer === c && joinedYet) scheduleRestart(error);
    });
    await c.connect();
    await c.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? true });
    await c.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      // Several partitions in flight let one partition's records be validated while another's
      // are written; order within each partition is kept by kafkajs.
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
      eachBatch,
    });
    await joinedOnce;
  }

  function scheduleRestart(cause: Error): void {
    const at = now();
    while (restartTimes.length > 0 && at - restartTimes[0]! > restartPolicy.windowMs) restartTimes.shift();
    if (restartTimes.length >= restartPolicy.max) {
      fatal(new Error(`the ingest consumer crashed ${restartTimes.length + 1} times within ${Math.round(restartPolicy.windowMs / 1000)} s (last: ${describeError(cause)})`, { cause }));
      return;
    }
    restartTimes.push(at);
    const waitMs = exponentialBackoff(restartTimes.length, { baseMs: restartPolicy.firstDelayMs, capMs: restartPolicy.windowMs });
    log.warn({ inMs: waitMs, restarts: restartTimes.length }, 'rebuilding the ingest consumer');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      stats.restarts += 1;
      const old = consumer;
      void (async () => {
        await old?.disconnect().catch(() => undefined);
        if (stopping) return;
        await withDeadline(run(), 60_000, 'joining the group took longer than 60 s');
      })().catch((err: unknown) => {
        log.error({ err }, 'rebuilding the ingest consumer failed');
        if (!stopping) scheduleRestart(err instanceof Error ? err : new Error(String(err)));
      });
    }, waitMs);
    restartTimer.unref();
  }

  function fatal(err: Error): void {
    log.fatal({ err }, 'the ingest consumer cannot be brought back');
    crashed = { at: now(), error: err.message };
    if (options.onFatal) options.onFatal(err);
  }

  function health(): IngestHealth {
    const problems: string[] = [];
    if (stopping) problems.push('stopping');
    else if (crashed) problems.push(`the ingest consumer crashed at ${new Date(crashed.at).toISOString()}: ${crashed.error}`);
    else if (!joined) problems.push('the ingest consumer is not in its group');
    for (const [partition, p] of [...paused.entries()].sort((a, b) => a[0] - b[0])) {
      problems.push(`partition ${partition} paused since ${new Date(p.since).toISOString()} (${p.failures} tries): ${p.reason}`);
    }
    const at = now();
    for (const [partition, since] of [...writingSince.entries()].sort((a, b) => a[0] - b[0])) {
      if (at - since >= SLOW_WRITE_MS && !paused.has(partition)) {
        problems.push(`partition ${partition}: a write to the store or the dead-letter topic has been waiting since ${new Date(since).toISOString()}`);
      }
    }
    return { ok: problems.length === 0, problems };
  }

  return {
    stats,
    isHealthy: () => health().ok,
    health,

    async start() {
      await run();
    },

    stop() {
      stopPromise ??= (async () => {
        stopping = true;
        if (restartTimer) clearTimeout(restartTimer);
        for (const p of paused.values()) clearTimeout(p.timer);
        // disconnect() waits for the running eachBatch, then commits the resolved offsets.
        await consumer?.disconnect();
        joined = false;
        log.info({ ...stats }, 'ingest stopped');
      })();
      return stopPromise;
    },
  };
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`.slice(0, 500);
  return String(err).slice(0, 500);
}
