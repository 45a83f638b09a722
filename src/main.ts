import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { systemClock, type Clock, type RefundStore } from './app/ports.js';
import { createTrackRefunds } from './app/track-refunds.js';
import { createHttpServer, type HttpServer } from './adapters/http/server.js';
import { createServiceMetrics } from './adapters/http/metrics.js';
import { createKafka } from './adapters/kafka/client.js';
import { createIngestConsumer, type IngestConsumer } from './adapters/kafka/ingest-consumer.js';
import { ensureTopics } from './adapters/kafka/topics.js';
import { createStore } from './adapters/store/create-store.js';
import type { AppConfig } from './config/load.js';

export interface Service {
  start(): Promise<{ httpUrl: string }>;
  /** Drains and closes everything; the same promise when called again. */
  stop(): Promise<void>;
  readonly store: RefundStore;
  readonly ingest: IngestConsumer;
}

export interface ServiceDeps {
  logger: Logger;
  clock?: Clock;
}

/**
 * The composition root: builds every adapter from the configuration, wires the use cases, and
 * owns the order of start and stop. Nothing else constructs adapters.
 */
export function createService(config: AppConfig, deps: ServiceDeps): Service {
  const log = deps.logger;
  const clock = deps.clock ?? systemClock;
  const store = createStore(config.database);
  const kafka: Kafka = createKafka(config.kafka, log);
  // One idempotent producer for everything this instance writes to Kafka: the broker then
  // de-duplicates our own retries of a send, and acks=all is the default for idempotence.
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const track = createTrackRefunds({ store, clock, firstDelayMs: config.poll.firstDelayMs });
  const ingest = createIngestConsumer({
    kafka,
    producer,
    groupId: config.kafka.groupId,
    topic: config.topics.initiated,
    deadLetterTopic: config.topics.deadLetter,
    antomApi: config.antom.api,
    batchSize: config.ingest.batchSize,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    track,
    storeHealthy: async () => {
      try {
        await store.ping();
        return true;
      } catch {
        return false;
      }
    },
    logger: log,
  });
  const metrics = createServiceMetrics({ ingest: () => ingest.stats, store });
  let producerConnected = false;
  const http: HttpServer = createHttpServer({
    host: config.http.host,
    port: config.http.port,
    logger: log,
    metrics,
    readiness: [
      { name: 'store', check: () => store.ping() },
      {
        name: 'kafka',
        check: async () => {
          if (!producerConnected) throw new Error('producer not connected');
          if (!ingest.isHealthy()) throw new Error('ingest consumer is not in its group');
        },
      },
    ],
  });

  let started = false;
  let stopping: Promise<void> | undefined;

  return {
    store,
    ingest,

    async start() {
      started = true;
      await store.migrate();
      const { url } = await http.start();
      if (config.kafka.createTopics) {
        await ensureTopics(kafka, Object.values(config.topics), log);
      }
      await producer.connect();
      producerConnected = true;
      await ingest.start();
      log.info({ httpUrl: url, topic: config.topics.initiated }, 'refund-notifier started');
      return { httpUrl: url };
    },

    stop() {
      stopping ??= (async () => {
        if (!started) {
          await store.close();
          return;
        }
        log.info('stopping: draining the ingest');
        // Order: stop taking work, finish what is in flight, then close what it writes to.
        await settle(log, 'ingest', ingest.stop());
        await settle(log, 'producer', producer.disconnect());
        await settle(log, 'http', http.close());
        await settle(log, 'store', store.close());
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

async function settle(log: Logger, what: string, promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (err) {
    log.warn({ err, component: what }, 'error while stopping');
  }
}
