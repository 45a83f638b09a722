import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { withDeadline } from '../timers.js';
import { KAFKA_RETRY } from './client.js';
import type { IngestStats } from './ingest-consumer.js';
import { describeError } from './ingest-errors.js';
import { createRestarter, type RestartPolicy } from './ingest-restarts.js';

/**
 * The ingest consumer's life in its group: build and run a kafkajs consumer, know whether it is in
 * its group or crashed, rebuild it after a crash kafkajs will not restart from (ingest-restarts.ts),
 * and leave the group on stop. What a batch does is ingest-batch.ts's business.
 */

export interface ConsumerLifecycle {
  /** Subscribes and starts consuming; resolves once the consumer has joined its group. */
  start(): Promise<void>;
  /** Cancels a pending rebuild, lets the running batch finish, commits, leaves the group. */
  stop(): Promise<void>;
  /** Why the consumer is not consuming (crashed, not in its group), if it is not. */
  problems(): string[];
}

export function createConsumerLifecycle(deps: {
  kafka: Kafka;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  partitionsConsumedConcurrently: number;
  eachBatch: (payload: EachBatchPayload) => Promise<void>;
  /** After each join: the partitions of the topic that are now ours. */
  onAssigned: (partitions: ReadonlySet<number>) => void;
  restarts: RestartPolicy;
  onFatal?: (err: Error) => void;
  isStopping: () => boolean;
  stats: IngestStats;
  now: () => number;
  log: Logger;
}): ConsumerLifecycle {
  const { log, now, isStopping } = deps;
  let consumer: Consumer | undefined;
  let joined = false;
  let crashed: { at: number; error: string } | undefined;

  const restarter = createRestarter({
    policy: deps.restarts,
    isStopping,
    now,
    log,
    async rebuild() {
      deps.stats.restarts += 1;
      const old = consumer;
      await old?.disconnect().catch(() => undefined);
      if (isStopping()) return;
      await withDeadline(run(), 60_000, 'joining the group took longer than 60 s');
    },
    fatal(err) {
      log.fatal({ err }, 'the ingest consumer cannot be brought back');
      crashed = { at: now(), error: err.message };
      if (deps.onFatal) deps.onFatal(err);
    },
  });

  /** Builds a consumer and runs it; resolves once it joined its group. */
  async function run(): Promise<void> {
    const c = deps.kafka.consumer({
      groupId: deps.groupId,
      sessionTimeout: deps.sessionTimeoutMs,
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
      retry: { ...KAFKA_RETRY, restartOnFailure: async () => !isStopping() },
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
        deps.onAssigned(new Set(e.payload.memberAssignment[deps.topic] ?? []));
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
      if (!e.payload.restart && !isStopping() && consumer === c && joinedYet) restarter.schedule(error);
    });
    await c.connect();
    await c.subscribe({ topic: deps.topic, fromBeginning: deps.fromBeginning });
    await c.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      // Several partitions in flight let one partition's records be validated while another's
      // are written; order within each partition is kept by kafkajs.
      partitionsConsumedConcurrently: deps.partitionsConsumedConcurrently,
      eachBatch: deps.eachBatch,
    });
    await joinedOnce;
  }

  return {
    start: run,

    async stop() {
      restarter.cancel();
      // disconnect() waits for the running eachBatch, then commits the resolved offsets.
      await consumer?.disconnect();
      joined = false;
    },

    problems() {
      if (crashed) return [`the ingest consumer crashed at ${new Date(crashed.at).toISOString()}: ${crashed.error}`];
      if (!joined) return ['the ingest consumer is not in its group'];
      return [];
    },
  };
}
