import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { createOutboxDispatcher, type DeliverySender, type NoticePlanner, type OutboxDispatcher } from './app/dispatch-outbox.js';
import { createPollLoop, type PollLoop, type RefundInquirer } from './app/poll-refunds.js';
import { systemClock, type Clock, type RefundStore } from './app/ports.js';
import { createRateLimiter } from './app/rate-limiter.js';
import { createReceiveNotification } from './app/receive-notification.js';
import { createSweepDeadlines } from './app/sweep-deadlines.js';
import { createTrackRefunds } from './app/track-refunds.js';
import { createAntomClient, type AntomClient } from './adapters/antom/client.js';
import { loadPublicKey } from './adapters/antom/keys.js';
import { createAdminRoutes } from './adapters/http/admin-routes.js';
import { createServiceMetrics } from './adapters/http/metrics.js';
import { createNotifyRoute } from './adapters/http/notify-route.js';
import { createHttpServer, type HttpServer } from './adapters/http/server.js';
import { createKafka } from './adapters/kafka/client.js';
import { createIngestConsumer, type IngestConsumer } from './adapters/kafka/ingest-consumer.js';
import { createOutcomePublisher } from './adapters/kafka/outcome-publisher.js';
import { createSafeProducer, type SafeProducer } from './adapters/kafka/producer.js';
import { ensureTopics } from './adapters/kafka/topics.js';
import { createScheduler, type Scheduler } from './adapters/scheduler/jobs.js';
import { createStore } from './adapters/store/create-store.js';
import { sleep, withDeadline } from './adapters/timers.js';
import { antomClientSettings } from './adapters/antom/settings.js';
import type { AppConfig } from './config/load.js';
import { loadResultCodeTable } from './config/result-codes.js';
import { classifyInquiry, classifyRefundNotification } from './domain/classify.js';
import type { Random, ScheduleSettings } from './domain/schedule.js';
import type { Notice } from './domain/decide.js';
import type { OutboxEntryInput } from './app/ports.js';
import { playbookLookup } from './domain/routing.js';
import { createCustomerEmailOutage } from './app/customer-email-outage.js';
import {
  CUSTOMER_CHANNEL,
  createBacklogCoalescer,
  createDigest,
  createGroupFlusher,
  createNoticePlanner,
  createNotificationSender,
  createStalledReminders,
  type EmailPort,
  type NotifySettings,
  type SlackPort,
} from './app/notify.js';
import { createMailer, type Mailer } from './adapters/email/mailer.js';
import { loadTemplates } from './adapters/email/templates.js';
import { createRenderers } from './adapters/notify/renderers.js';
import { createSlackNotifier } from './adapters/slack/client.js';
import { loadRoutingTree, routingFilePath } from './config/routing.js';

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
 * owns the order of start and stop. Nothing else constructs adapters.
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

  // Notifications: routing, templates and transports are loaded now, so a bad routing file or
  // template stops the start with its file and line, not the first escalation.
  const routingTree = loadRoutingTree(routingFilePath(config.configDir), { knownReasonCodes: resultCodes.rules.keys() });
  const templates = loadTemplates({ configDir: config.configDir });
  const render = createRenderers(templates, config.email.from);
  const slack: SlackPort = createSlackNotifier(
    { botToken: config.slack.botToken, webhookUrl: config.slack.webhookUrl, apiUrl: config.slack.apiUrl },
    { logger: log },
  );
  const mailer: Mailer | undefined = config.email.smtpUrl
    ? createMailer({ smtpUrl: config.email.smtpUrl, from: config.email.from }, { logger: log })
    : undefined;
  const email: EmailPort | undefined = mailer;
  const notifySettings: NotifySettings = {
    groupWindowMs: config.notify.groupWindowMs,
    groupUpdateIntervalMs: config.notify.groupUpdateIntervalMs,
    reminderIntervalMs: config.notify.reminderIntervalMs,
    staleAfterMs: config.notify.staleAfterMs,
    fallbackAfterMs: config.notify.fallbackAfterMs,
    customerGiveUpAfterMs: config.notify.customerGiveUpAfterMs,
    giveUpAfterMs: config.notify.giveUpAfterMs,
    escalationEmailTo: config.email.escalationTo,
    escalationChannel: config.slack.escalationChannel,
  };
  const noticePlanner = createNoticePlanner({
    tree: routingTree,
    ctx: {
      customerEmails: config.email.customerEmails,
      opsChannel: config.slack.opsChannel,
      escalationChannel: config.slack.escalationChannel,
      escalationEmailTo: config.email.escalationTo,
      playbook: playbookLookup(resultCodes),
    },
    slackEnabled: slack.mode !== 'off',
    emailEnabled: mailer !== undefined,
    clock,
  });
  const planNotice: NoticePlanner = deps.planNotice ?? noticePlanner;
  // Deliveries are routed when the outcome is decided and written in the same transaction; only a
  // replaced planner (tests) leaves them as notices for the dispatcher.
  const routeNotice: ((notice: Notice) => OutboxEntryInput[]) | undefined = deps.planNotice ? undefined : noticePlanner;
  const notifyDeps = { store, owner, slack, ...(email ? { email } : {}), render, settings: notifySettings, clock, logger: log };
  const customerEmailOutage = createCustomerEmailOutage({
    store,
    clock,
    logger: log,
    receiver:
      slack.mode !== 'off'
        ? { type: 'slack', channel: config.slack.escalationChannel }
        : config.email.escalationTo.length > 0
          ? { type: 'email', to: [...config.email.escalationTo].sort() }
          : undefined,
    announceAfterMs: config.notify.fallbackAfterMs,
    giveUpAfterMs: config.notify.customerGiveUpAfterMs,
  });
  const sender = createNotificationSender(notifyDeps);
  const flushGroups = createGroupFlusher(notifyDeps);
  const remindStalled = createStalledReminders(notifyDeps);
  const digest = createDigest({ store, slack, render, channel: config.slack.opsChannel, clock });
  const kafka: Kafka = createKafka(config.kafka, log);
  // One idempotent producer for everything this instance writes to Kafka: the broker then
  // de-duplicates our own retries of a send, and acks=all is the default for idempotence. It is
  // replaced after a failed send (see createSafeProducer): nothing acknowledged is ever dropped.
  const producer: SafeProducer = createSafeProducer(kafka, log);

  let dispatcher: OutboxDispatcher | undefined;
  const onOutbox = () => dispatcher?.wake();
  let poller: PollLoop | undefined;

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
      // A POLL_FIRST_DELAY of 0 means "now": do not let the loop sleep through it.
      if (result.inserted.length > 0 && config.poll.firstDelayMs === 0) poller?.wake();
      return result;
    },
    logger: log,
    now: () => clock.now(),
    onFatal: (err) => deps.onFatal?.(err),
  });

  const limiter = createRateLimiter({ ratePerSecond: config.antom.rateLimit, clock, sleep });
  poller = createPollLoop({
    ...(routeNotice ? { routeNotice } : {}),
    store,
    antom,
    classify: (outcome) => classifyInquiry(outcome, resultCodes),
    limiter,
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
    onOutbox,
  });
  dispatcher = createOutboxDispatcher({
    store,
    publisher: createOutcomePublisher(producer),
    planNotice,
    deliver: deps.deliver ?? sender.deliver,
    fallbackFor: sender.fallbackFor,
    coalesce: createBacklogCoalescer(notifyDeps),
    watch: customerEmailOutage,
    giveUpAfterMs: (entry) => (entry.channel === CUSTOMER_CHANNEL ? config.notify.customerGiveUpAfterMs : config.notify.giveUpAfterMs),
    clock,
    sleep,
    logger: log,
    owner,
  });
  const receiveNotification = createReceiveNotification({
    ...(routeNotice ? { routeNotice } : {}),
    store,
    classify: (n) => classifyRefundNotification(n, resultCodes),
    clock,
    random,
    schedule,
    topics,
    logger: log,
    onOutbox,
  });
  const sweepDeadlines = createSweepDeadlines({ ...(routeNotice ? { routeNotice } : {}), store, clock, random, schedule, topics, logger: log, onOutbox });
  const scheduler = createScheduler(
    [
      // Every minute: deadlines missed while no poller ran are applied within a minute.
      { name: 'sweep-deadlines', schedule: '* * * * *', run: sweepDeadlines },
      // Nightly: sent outbox entries older than OUTBOX_RETENTION are deleted.
      { name: 'prune-outbox', schedule: '17 3 * * *', run: () => store.pruneOutbox(clock.now() - config.outboxRetentionMs) },
      // Every 5 s: grouped messages brought up to date (each at most every NOTIFY_GROUP_UPDATE_INTERVAL).
      { name: 'flush-groups', schedule: '*/5 * * * * *', run: flushGroups },
      // Every 5 s: a customer-email outage that has lasted NOTIFY_FALLBACK_AFTER is announced.
      { name: 'customer-email-outage', schedule: '*/5 * * * * *', run: () => customerEmailOutage.check() },
      // Every minute: reminders for stalled refunds whose STALLED_REMINDER_INTERVAL has passed.
      { name: 'stalled-reminders', schedule: '* * * * *', run: remindStalled },
      ...(config.notify.digestCron ? [{ name: 'digest', schedule: config.notify.digestCron, run: digest }] : []),
    ],
    log,
  );

  // One probe in flight at a time, and an answer within 3 s: while SQLite waits out its
  // busy_timeout, or PostgreSQL hangs, probes must neither pile up in front of the real work nor
  // keep the orchestrator waiting.
  let storeProbe: Promise<void> | undefined;
  const probeStore = (): Promise<void> => {
    storeProbe ??= store.heartbeat(owner, clock.now()).finally(() => {
      storeProbe = undefined;
    });
    return withDeadline(storeProbe, 3_000, 'the store did not take the probe write within 3 s');
  };

  const notifyCounters = { received: 0, rejected: 0 };
  const metrics = createServiceMetrics({ ingest: () => ingest.stats, store, poll: () => poller!.stats, outbox: () => dispatcher!.stats, notify: () => notifyCounters });
  let producerConnected = false;
  const http: HttpServer = createHttpServer({
    host: config.http.host,
    port: config.http.port,
    logger: log,
    metrics,
    readiness: [
      // A write, not a read: a store that answers reads but refuses writes is not ready.
      { name: 'store', check: probeStore },
      {
        name: 'kafka',
        check: async () => {
          if (!producerConnected) throw new Error('producer not connected');
          const health = ingest.health();
          if (!health.ok) throw new Error(health.problems.join('; '));
        },
      },
      {
        name: 'antom',
        check: async () => {
          if (!poller!.isRunning()) throw new Error('poll loop not running');
        },
      },
    ],
    routes: [
      {
        method: 'POST',
        path: config.http.notifyPath,
        handler: createNotifyRoute({
          antomPublicKey: [antomSettings.antomPublicKey, ...(antomSettings.antomPublicKeyNext ? [antomSettings.antomPublicKeyNext] : [])].map((k) => loadPublicKey(k)),
          // A notification signed for another client id (another merchant, our sandbox) is refused.
          clientId: antomSettings.clientId,
          receive: receiveNotification,
          logger: log,
          counters: notifyCounters,
        }),
      },
      ...(config.http.adminToken
        ? (['GET', 'POST'] as const).map((method) => ({
            method,
            path: '/admin/',
            prefix: true,
            handler: createAdminRoutes({ store, clock, token: config.http.adminToken!, onRecheck: () => poller!.wake() }),
          }))
        : []),
    ],
  });

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
      dispatcher!.start();
      poller!.start();
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
        await settle(log, 'poll', poller!.stop());
        await settle(log, 'outbox', dispatcher!.stop());
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
