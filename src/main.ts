import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { createAntomHealthWindow } from './app/antom-health.js';
import { createOutboxDispatcher, type OutboxDispatcher } from './app/dispatch-outbox.js';
import { CUSTOMER_CHANNEL } from './app/notify/vocabulary.js';
import { createObservations } from './app/observations.js';
import type { RefundInquirer } from './app/poll-inquiry.js';
import { createPollLoop, type PollLoop } from './app/poll-refunds.js';
import { systemClock, type Clock, type RefundStore } from './app/ports.js';
import { createRateLimiter } from './app/rate-limiter.js';
import { createSharedRateLimiter } from './app/shared-rate-limiter.js';
import { createReceiveNotification } from './app/receive-notification.js';
import { createSweepDeadlines } from './app/sweep-deadlines.js';
import { createTrackRefunds } from './app/track-refunds.js';
import { createAntomClient, type AntomClient } from './adapters/antom/client.js';
import { antomClientSettings } from './adapters/antom/settings.js';
import { createKafka } from './adapters/kafka/client.js';
import { createIngestConsumer, type IngestConsumer } from './adapters/kafka/ingest-consumer.js';
import { createOutcomePublisher } from './adapters/kafka/outcome-publisher.js';
import { createSafeProducer, type SafeProducer } from './adapters/kafka/producer.js';
import { ensureTopics } from './adapters/kafka/topics.js';
import { createScheduler, type Scheduler } from './adapters/scheduler/jobs.js';
import { createStore } from './adapters/store/create-store.js';
import { createTracing, type OtelTracing } from './adapters/tracing/otel.js';
import { sleep } from './adapters/timers.js';
import { wireHttp, type HttpListeners } from './composition/http.js';
import { scheduledJobs } from './composition/jobs.js';
import { wireNotifications } from './composition/notifications.js';
import { allTopics, ingestSettings, kafkaSettings, outcomeTopics, pollSettings, scheduleSettings, storeTarget, tracingSettings } from './composition/settings.js';
import type { AppConfig } from './config/load.js';
import { loadResultCodeTable } from './config/result-codes.js';
import { classifyInquiry, classifyRefundNotification } from './domain/classify.js';
import type { Random } from './domain/schedule.js';

export interface Service {
  /** `httpUrl`: the notify listener (HTTP_PORT); `adminUrl`: the admin listener (ADMIN_PORT). */
  start(): Promise<{ httpUrl: string; adminUrl: string }>;
  /** Drains and closes everything; the same promise when called again. */
  stop(): Promise<void>;
  readonly store: RefundStore;
  readonly ingest: IngestConsumer;
  readonly poller: PollLoop;
  readonly dispatcher: OutboxDispatcher;
  readonly scheduler: Scheduler;
}

export interface ServiceDeps {
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Replaces the Antom client (tests of the poll loop with a scripted Antom). */
  antom?: RefundInquirer & { close?(): Promise<void> };
  /**
   * Something the service cannot recover from by itself (the ingest consumer cannot be brought
   * back): the caller should stop and exit non-zero so an orchestrator restarts the process.
   */
  onFatal?: (err: Error) => void;
}

/**
 * The composition root: builds every adapter from the configuration, wires the use cases, and
 * owns the order of start and stop. Nothing else constructs adapters (the notification and HTTP
 * parts are wired by src/composition/, called from here).
 */
export function createService(config: AppConfig, deps: ServiceDeps): Service {
  const log = deps.logger;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const v = config.values;
  const schedule = scheduleSettings(v);
  const topics = outcomeTopics(v);
  const resultCodes = loadResultCodeTable({ configDir: config.configDir });
  const antomSettings = antomClientSettings(config);
  const antom: RefundInquirer & { close?(): Promise<void> } =
    deps.antom ?? (createAntomClient(antomSettings, { logger: log, now: () => clock.now() }) as AntomClient);
  const store = createStore(storeTarget(config), log);
  // Spans only with an OTLP endpoint (the SDK is loaded by start()); the trace context is carried either way.
  const tracing: OtelTracing = createTracing(tracingSettings(v), log);
  const notifications = wireNotifications(config, { store, owner, clock, logger: log, resultCodes, tracing });
  const routeNotice = notifications.planDeliveries;
  const kafka: Kafka = createKafka(kafkaSettings(v), log);
  // One idempotent producer for everything this instance writes to Kafka: the broker then
  // de-duplicates our own retries of a send, and acks=all is the default for idempotence. It is
  // replaced after a failed send (see createSafeProducer): nothing acknowledged is ever dropped.
  const producer: SafeProducer = createSafeProducer(kafka, log);

  // What the dashboard and the alerts read beyond the components' counters (docs/operations.md).
  const observations = createObservations();
  // Decisions wake the dispatcher; a POLL_FIRST_DELAY of 0 ("now") wakes the poll loop.
  const wakeDispatcher = () => dispatcher.wake();
  const track = createTrackRefunds({ store, clock, firstDelayMs: schedule.firstDelayMs, antomApi: v.ANTOM_API });
  const ingest = createIngestConsumer({
    ...ingestSettings(v),
    kafka,
    producer,
    track: async (refunds) => {
      const result = await track(refunds);
      if (result.inserted.length > 0 && schedule.firstDelayMs === 0) poller.wake();
      return result;
    },
    logger: log,
    now: () => clock.now(),
    onFatal: (err) => deps.onFatal?.(err),
  });
  // Antom's answers over the last hour, as the operations console shows them.
  const antomHealth = createAntomHealthWindow({ clock });
  const poller = createPollLoop({
    routeNotice,
    answers: antomHealth,
    store,
    antom,
    classify: (outcome) => classifyInquiry(outcome, resultCodes),
    // One budget per Antom client id for every instance on a shared PostgreSQL store; on SQLite
    // one instance owns the store, and its own bucket is the budget (docs/operations.md).
    limiter:
      config.database.kind === 'postgres'
        ? createSharedRateLimiter({ store, bucket: `antom:${v.ANTOM_CLIENT_ID ?? ''}`, ratePerSecond: v.ANTOM_RATE_LIMIT, clock, sleep, logger: log })
        : createRateLimiter({ ratePerSecond: v.ANTOM_RATE_LIMIT, clock, sleep }),
    clock,
    random,
    sleep,
    logger: log,
    schedule,
    topics,
    ...pollSettings(v),
    owner,
    onOutbox: wakeDispatcher,
    observations,
    tracing,
  });
  const dispatcher: OutboxDispatcher = createOutboxDispatcher({
    store,
    publisher: createOutcomePublisher(producer, tracing),
    planDeliveries: notifications.planDeliveries,
    deliver: notifications.deliver,
    fallbackFor: notifications.fallbackFor,
    coalesce: notifications.coalesce,
    watch: notifications.customerEmailOutage,
    giveUpAfterMs: (entry) => (entry.channel === CUSTOMER_CHANNEL ? v.CUSTOMER_EMAIL_GIVE_UP_AFTER : v.NOTIFY_GIVE_UP_AFTER),
    clock,
    sleep,
    logger: log,
    owner,
    observations,
  });
  const decisionDeps = { routeNotice, store, clock, random, schedule, topics, logger: log, onOutbox: wakeDispatcher, observations };
  const receiveNotification = createReceiveNotification({ ...decisionDeps, classify: (n) => classifyRefundNotification(n, resultCodes) });
  const scheduler = createScheduler(scheduledJobs({ values: v, store, clock, notifications, sweepDeadlines: createSweepDeadlines(decisionDeps), logger: log }), log, {
    // Each job once per cluster and period (docs/operations.md). On SQLite one instance owns the
    // store, so there is nobody to share with and no claim row to write every 5 s.
    claim: config.database.kind === 'postgres' ? (job, period) => store.claimJobRun({ job, period, owner, now: clock.now() }) : undefined,
    now: () => clock.now(),
  });
  let producerConnected = false;
  const http: HttpListeners = wireHttp(config, {
    logger: log,
    clock,
    owner,
    store,
    ingest,
    poller,
    dispatcher,
    antom: antomSettings,
    receiveNotification,
    producerConnected: () => producerConnected,
    antomHealth,
    observations,
  });
  const mailer = notifications.mailer;
  const components = { store, ingest, poller, dispatcher, scheduler };
  return {
    ...components,
    ...lifecycle({ ...components, log, http, producer, mailer, antom, tracing }, {
      connectKafka: async () => {
        if (v.KAFKA_CREATE_TOPICS) await ensureTopics(kafka, allTopics(v), log);
        await producer.connect();
        producerConnected = true;
      },
      about: { topic: v.TOPIC_REFUND_INITIATED, owner },
    }),
  };
}

/**
 * Start in dependency order; stop in the reverse of taking work: stop taking work, finish what
 * is in flight, then close what it writes to. Stop is idempotent (the same promise again).
 */
function lifecycle(
  c: Pick<Service, 'store' | 'ingest' | 'poller' | 'dispatcher' | 'scheduler'> & {
    log: Logger;
    http: HttpListeners;
    producer: SafeProducer;
    mailer: { close(): Promise<void> } | undefined;
    antom: { close?(): Promise<void> };
    tracing: OtelTracing;
  },
  how: { connectKafka: () => Promise<void>; about: Record<string, unknown> },
): Pick<Service, 'start' | 'stop'> {
  const { log } = c;
  let started = false;
  let stopping: Promise<void> | undefined;
  const close = (what: string, fn: () => Promise<unknown> | undefined) => settle(log, what, fn() ?? Promise.resolve());
  return {
    async start() {
      started = true;
      // First: every span after this is recorded (when an endpoint is set).
      await c.tracing.start();
      await c.store.migrate();
      const { httpUrl, adminUrl } = await c.http.start();
      await how.connectKafka();
      c.dispatcher.start();
      c.poller.start();
      c.scheduler.start();
      await c.ingest.start();
      log.info({ httpUrl, adminUrl, ...how.about }, 'refund-notifier started');
      return { httpUrl, adminUrl };
    },
    stop() {
      stopping ??= (async () => {
        if (!started) {
          await close('mailer', () => c.mailer?.close());
          await close('store', () => c.store.close());
          await close('antom', () => c.antom.close?.());
          await close('tracing', () => c.tracing.stop());
          return;
        }
        log.info('stopping: draining the ingest, the poll loop and the outbox');
        await close('ingest', () => c.ingest.stop());
        await close('scheduler', () => c.scheduler.stop());
        await close('poll', () => c.poller.stop());
        await close('outbox', () => c.dispatcher.stop());
        await close('producer', () => c.producer.disconnect());
        await close('mailer', () => c.mailer?.close());
        await close('antom', () => c.antom.close?.());
        await close('http', () => c.http.close());
        await close('store', () => c.store.close());
        // Last: the spans of everything above are exported before the process ends.
        await close('tracing', () => c.tracing.stop());
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
