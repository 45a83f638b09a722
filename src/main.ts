import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { createOutboxDispatcher, type DeliverySender, type NoticePlanner, type OutboxDispatcher } from './app/dispatch-outbox.js';
import { CUSTOMER_CHANNEL } from './app/notify.js';
import { createPollLoop, type PollLoop, type RefundInquirer } from './app/poll-refunds.js';
import { systemClock, type Clock, type RefundStore } from './app/ports.js';
import { createRateLimiter } from './app/rate-limiter.js';
import { createReceiveNotification } from './app/receive-notification.js';
import { createSweepDeadlines } from './app/sweep-deadlines.js';
import { createTrackRefunds } from './app/track-refunds.js';
import { createAntomClient, type AntomClient } from './adapters/antom/client.js';
import { antomClientSettings } from './adapters/antom/settings.js';
import type { HttpServer } from './adapters/http/server.js';
import { createKafka } from './adapters/kafka/client.js';
import { createIngestConsumer, type IngestConsumer } from './adapters/kafka/ingest-consumer.js';
import { createOutcomePublisher } from './adapters/kafka/outcome-publisher.js';
import { createSafeProducer, type SafeProducer } from './adapters/kafka/producer.js';
import { ensureTopics } from './adapters/kafka/topics.js';
import { createScheduler, type Scheduler } from './adapters/scheduler/jobs.js';
import { createStore } from './adapters/store/create-store.js';
import { sleep } from './adapters/timers.js';
import { wireHttp } from './composition/http.js';
import { wireNotifications } from './composition/notifications.js';
import type { AppConfig } from './config/load.js';
import { loadResultCodeTable } from './config/result-codes.js';
import { classifyInquiry, classifyRefundNotification } from './domain/classify.js';
import type { Random, ScheduleSettings } from './domain/schedule.js';

export interface Service {
  start(): Promise<{ httpUrl: string }>;
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
  /** Replace the notification layer's planning and sending (tests of the dispatcher). */
  planNotice?: NoticePlanner;
  deliver?: DeliverySender;
  /**
   * Something the service cannot recover from by itself (the ingest consumer cannot be brought
   * back): the caller should stop and exit non-zero so an orchestrator restarts the process.
   */
  onFatal?: (err: Error) => void;
}

// 20 % either way spreads refunds recorded together over time, so a burst of initiations does not
// come back as a burst of inquiries at every backoff step.
const SCHEDULE_JITTER = 0.2;

export function scheduleSettings(config: AppConfig): ScheduleSettings {
  return {
    firstDelayMs: config.poll.firstDelayMs,
    maxIntervalMs: config.poll.maxIntervalMs,
    stalledAfterMs: config.poll.stalledAfterMs,
    giveUpAfterMs: config.poll.giveUpAfterMs,
    notFoundGraceMs: config.poll.notFoundGraceMs,
    confirmFailureAfterMs: config.poll.confirmFailureAfterMs,
    jitter: SCHEDULE_JITTER,
  };
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
  const schedule = scheduleSettings(config);
  const topics = { completed: config.topics.completed, failed: config.topics.failed, stalled: config.topics.stalled };
  const resultCodes = loadResultCodeTable({ configDir: config.configDir });
  const antomSettings = antomClientSettings(config);
  const antom: RefundInquirer & { close?(): Promise<void> } =
    deps.antom ?? (createAntomClient(antomSettings, { logger: log, now: () => clock.now() }) as AntomClient);
  const store = createStore(config.database, log);
  const notifications = wireNotifications(config, { store, owner, clock, logger: log, resultCodes }, deps);
  const { routeNotice } = notifications;
  const kafka: Kafka = createKafka(config.kafka, log);
  // One idempotent producer for everything this instance writes to Kafka: the broker then
  // de-duplicates our own retries of a send, and acks=all is the default for idempotence. It is
  // replaced after a failed send (see createSafeProducer): nothing acknowledged is ever dropped.
  const producer: SafeProducer = createSafeProducer(kafka, log);

  // Decisions wake the dispatcher; a POLL_FIRST_DELAY of 0 ("now") wakes the poll loop.
  const wakeDispatcher = () => dispatcher.wake();
  const track = createTrackRefunds({ store, clock, firstDelayMs: config.poll.firstDelayMs, antomApi: config.antom.api });
  const ingest = createIngestConsumer({
    kafka,
    producer,
    groupId: config.kafka.groupId,
    topic: config.topics.initiated,
    deadLetterTopic: config.topics.deadLetter,
    antomApi: config.antom.api,
    batchSize: config.ingest.batchSize,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    track: async (refunds) => {
      const result = await track(refunds);
      if (result.inserted.length > 0 && config.poll.firstDelayMs === 0) poller.wake();
      return result;
    },
    logger: log,
    now: () => clock.now(),
    onFatal: (err) => deps.onFatal?.(err),
  });
  const poller = createPollLoop({
    ...(routeNotice ? { routeNotice } : {}),
    store,
    antom,
    classify: (outcome) => classifyInquiry(outcome, resultCodes),
    limiter: createRateLimiter({ ratePerSecond: config.antom.rateLimit, clock, sleep }),
    clock,
    random,
    sleep,
    logger: log,
    schedule,
    topics,
    api: config.antom.api,
    concurrency: config.antom.concurrency,
    owner,
    requestTimeoutMs: config.antom.timeoutMs,
    slowDownMs: config.poll.slowDownMs,
    onOutbox: wakeDispatcher,
  });
  const dispatcher: OutboxDispatcher = createOutboxDispatcher({
    store,
    publisher: createOutcomePublisher(producer),
    planNotice: notifications.planNotice,
    deliver: notifications.deliver,
    fallbackFor: notifications.fallbackFor,
    coalesce: notifications.coalesce,
    watch: notifications.customerEmailOutage,
    giveUpAfterMs: (entry) => (entry.channel === CUSTOMER_CHANNEL ? config.notify.customerGiveUpAfterMs : config.notify.giveUpAfterMs),
    clock,
    sleep,
    logger: log,
    owner,
  });
  const decisionDeps = { ...(routeNotice ? { routeNotice } : {}), store, clock, random, schedule, topics, logger: log, onOutbox: wakeDispatcher };
  const receiveNotification = createReceiveNotification({ ...decisionDeps, classify: (n) => classifyRefundNotification(n, resultCodes) });
  const scheduler = createScheduler(
    [
      // Every minute: deadlines missed while no poller ran are applied within a minute.
      { name: 'sweep-deadlines', schedule: '* * * * *', run: createSweepDeadlines(decisionDeps) },
      // Nightly: sent outbox entries older than OUTBOX_RETENTION are deleted.
      { name: 'prune-outbox', schedule: '17 3 * * *', run: () => store.pruneOutbox(clock.now() - config.outboxRetentionMs) },
      // Every 5 s: grouped messages brought up to date (each at most every NOTIFY_GROUP_UPDATE_INTERVAL).
      { name: 'flush-groups', schedule: '*/5 * * * * *', run: notifications.flushGroups },
      // Every 5 s: a customer-email outage that has lasted NOTIFY_FALLBACK_AFTER is announced.
      { name: 'customer-email-outage', schedule: '*/5 * * * * *', run: () => notifications.customerEmailOutage.check() },
      // Every minute: reminders for stalled refunds whose STALLED_REMINDER_INTERVAL has passed.
      { name: 'stalled-reminders', schedule: '* * * * *', run: notifications.remindStalled },
      ...(config.notify.digestCron ? [{ name: 'digest', schedule: config.notify.digestCron, run: notifications.digest }] : []),
    ],
    log,
  );
  let producerConnected = false;
  const http: HttpServer = wireHttp(config, {
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
  });
  const mailer = notifications.mailer;

  let started = false;
  let stopping: Promise<void> | undefined;

  return {
    store,
    ingest,
    poller,
    dispatcher,
    scheduler,

    async start() {
      started = true;
      await store.migrate();
      const { url } = await http.start();
      if (config.kafka.createTopics) {
        await ensureTopics(kafka, Object.values(config.topics), log);
      }
      await producer.connect();
      producerConnected = true;
      dispatcher.start();
      poller.start();
      scheduler.start();
      await ingest.start();
      log.info({ httpUrl: url, topic: config.topics.initiated, owner }, 'refund-notifier started');
      return { httpUrl: url };
    },

    stop() {
      stopping ??= (async () => {
        if (!started) {
          await settle(log, 'mailer', mailer?.close() ?? Promise.resolve());
          await settle(log, 'store', store.close());
          await settle(log, 'antom', antom.close?.() ?? Promise.resolve());
          return;
        }
        log.info('stopping: draining the ingest, the poll loop and the outbox');
        // Order: stop taking work, finish what is in flight, then close what it writes to.
        await settle(log, 'ingest', ingest.stop());
        await settle(log, 'scheduler', scheduler.stop());
        await settle(log, 'poll', poller.stop());
        await settle(log, 'outbox', dispatcher.stop());
        await settle(log, 'producer', producer.disconnect());
        await settle(log, 'mailer', mailer?.close() ?? Promise.resolve());
        await settle(log, 'antom', antom.close?.() ?? Promise.resolve());
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
