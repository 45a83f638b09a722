/**
 * The application layer assembled as src/main.ts assembles it — the real use cases, notification
 * jobs, dispatcher, routing and renderers — over the fakes in fakes.ts and an in-memory store. A
 * test drives it by the fake clock: refunds are tracked, Antom notifies or answers, the dispatcher
 * and the scheduled jobs run when the test says, and the fakes show what people were told.
 */
import { createCommitDecision } from '../../src/app/commit-decision.js';
import { createOutboxDispatcher, type OutboxDispatcher, type OutboxDispatcherDeps } from '../../src/app/dispatch-outbox.js';
import { createBacklogCoalescer } from '../../src/app/notify/coalesce-backlog.js';
import { createFallbackPlanner } from '../../src/app/notify/fall-back.js';
import { createGroupFlusher } from '../../src/app/notify/flush-groups.js';
import { createDeliveryPlanner, type DeliveryPlanner } from '../../src/app/notify/plan-deliveries.js';
import { createStalledReminders } from '../../src/app/notify/remind-stalled.js';
import { createDeliverySender } from '../../src/app/notify/send-delivery.js';
import { CUSTOMER_CHANNEL, type NotifierDeps, type NotifySettings } from '../../src/app/notify/vocabulary.js';
import type { Observations } from '../../src/app/observations.js';
import type { OutcomeTopics } from '../../src/app/outbox-entries.js';
import { createPollLoop, type PollLoop, type PollLoopDeps } from '../../src/app/poll-refunds.js';
import type { EmailPort, OutboxEntry, OutboxFilter, RefundStore, Tracing } from '../../src/app/ports.js';
import { createReceiveNotification, type NotificationResult } from '../../src/app/receive-notification.js';
import { createSweepDeadlines } from '../../src/app/sweep-deadlines.js';
import { loadTemplates } from '../../src/adapters/email/templates.js';
import { createRenderers } from '../../src/adapters/notify/renderers.js';
import type { MerchantDirectory } from '../../src/config/merchants.js';
import { loadResultCodeTable } from '../../src/config/result-codes.js';
import { SHIPPED_ROUTING_FILE, loadRoutingTree, parseRoutingFile } from '../../src/config/routing.js';
import { classifyInquiry, classifyRefundNotification } from '../../src/domain/classify.js';
import type { InquiryOutcome, RefundNotification, VerifiedInquiryAnswer } from '../../src/domain/inquiry.js';
import type { NewRefund, TrackedRefund } from '../../src/domain/refund.js';
import { playbookLookup, type RoutingContext, type RoutingTree } from '../../src/domain/routing.js';
import type { ScheduleSettings } from '../../src/domain/schedule.js';
import { newRefund } from '../contract/refund-store.contract.js';
import {
  createFakeClock,
  createMemoryStore,
  createOpenLimiter,
  createRecordingEmail,
  createRecordingPublisher,
  createRecordingSlack,
  quietLogger,
  type FakeClock,
  type RecordingEmail,
  type RecordingSlack,
} from './fakes.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

export const TOPICS: OutcomeTopics = { completed: 'refunds.completed', failed: 'refunds.failed', stalled: 'refunds.stalled' };

/** The shipped defaults (docs/configuration.md), except ESCALATION_EMAIL_TO, which is set. */
export const NOTIFY_SETTINGS: NotifySettings = {
  groupWindowMs: 5 * MINUTE,
  groupUpdateIntervalMs: 30 * SECOND,
  reminderIntervalMs: 12 * HOUR,
  staleAfterMs: 10 * MINUTE,
  fallbackAfterMs: 5 * MINUTE,
  customerGiveUpAfterMs: 72 * HOUR,
  giveUpAfterMs: 24 * HOUR,
  escalationEmailTo: ['ops@example.com'],
  escalationChannel: '#refund-escalations',
};

/** No jitter (random is fixed anyway): a refund's next inquiry is where the test expects it. */
export const SCHEDULE: ScheduleSettings = {
  firstDelayMs: SECOND,
  maxIntervalMs: 30 * MINUTE,
  stalledAfterMs: 24 * HOUR,
  giveUpAfterMs: 30 * 24 * HOUR,
  notFoundGraceMs: HOUR,
  jitter: 0,
};

export const resultCodes = loadResultCodeTable();
/** The real Block Kit and email templates: assertions read the text people would read. */
/** The test app's EMAIL_FROM: the renderers' Message-IDs are on its domain. */
export const TEST_EMAIL_FROM = 'Refunds <refunds@example.com>';
export const renderers = createRenderers(loadTemplates(), TEST_EMAIL_FROM);

/** A routing file's text as a tree (the shipped config/routing.yaml when none is given). */
export function routingTree(yaml?: string): RoutingTree {
  const options = { knownReasonCodes: resultCodes.rules.keys() };
  if (yaml === undefined) return loadRoutingTree(SHIPPED_ROUTING_FILE, options);
  const parsed = parseRoutingFile(yaml, 'test-routing.yaml', options);
  if (!parsed.tree) throw new Error(`test routing is invalid:\n${parsed.problems.join('\n')}`);
  return parsed.tree;
}

/** The tracking key of test refund `n` (newRefund's numbering). */
export const refundKey = (n: number): string => newRefund(n).id;

/** Antom's notifyRefund about a tracked refund, for its whole amount. */
export function refundNotification(refund: TrackedRefund, outcome: { status: 'SUCCESS' } | { status: 'FAIL'; code: string }, at: number): RefundNotification {
  const success = outcome.status === 'SUCCESS';
  return {
    notifyType: 'REFUND_RESULT',
    result: success
      ? { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' }
      : { resultCode: outcome.code, resultStatus: 'F', resultMessage: `refund failed: ${outcome.code}` },
    refundStatus: success ? 'SUCCESS' : 'FAIL',
    refundId: refund.refundId ?? refund.id,
    ...(refund.refundRequestId ? { refundRequestId: refund.refundRequestId } : {}),
    refundAmount: refund.refundAmount ?? { currency: 'USD', value: '0' },
    ...(success ? { refundTime: new Date(at).toISOString() } : {}),
    clientId: 'test-client',
    requestTime: new Date(at).toISOString(),
  };
}

/** A signed inquiryRefund answer (v2) saying where the refund stands. */
export function inquiryAnswer(refund: TrackedRefund, refundStatus: 'SUCCESS' | 'PENDING' | 'FAILED', at: number): VerifiedInquiryAnswer {
  return {
    kind: 'answer',
    signed: true,
    api: 'v2',
    httpStatus: 200,
    result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
    refundStatus,
    refundId: refund.refundId ?? refund.id,
    paymentId: refund.paymentId,
    ...(refund.refundAmount ? { refundAmount: refund.refundAmount } : {}),
    ...(refundStatus === 'SUCCESS' ? { refundTime: new Date(at).toISOString() } : {}),
    respondedAt: at,
    body: {},
  };
}

export interface TestAppOptions {
  /** routing.yaml text; the shipped file when absent. */
  routing?: string;
  slackMode?: 'bot' | 'webhook';
  settings?: Partial<NotifySettings>;
  /** CUSTOMER_EMAILS (default on). */
  customerEmails?: boolean;
  /** Wraps the store the notification jobs and the dispatcher use (to break it on cue). */
  wrapStore?: (store: RefundStore) => RefundStore;
  dispatcher?: Partial<OutboxDispatcherDeps>;
  /** What the decisions and the dispatcher measure (src/app/observations.ts); nothing when absent. */
  observations?: Observations;
  /** Sends the emails instead of the recording fake (a real mailer); `email` still records nothing then. */
  emailPort?: EmailPort;
  /** Spans of the notification jobs (none recorded when absent). */
  tracing?: Tracing;
  /** The merchants' brands on the customer email (config/merchants.yaml); none when absent. */
  merchants?: MerchantDirectory;
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

export async function createTestApp(options: TestAppOptions = {}) {
  const clock: FakeClock = createFakeClock();
  const store = await createMemoryStore();
  const used = options.wrapStore?.(store) ?? store;
  const slack: RecordingSlack = createRecordingSlack({ mode: options.slackMode ?? 'bot', clock });
  const email: RecordingEmail = createRecordingEmail({ clock });
  const publisher = createRecordingPublisher();
  const settings: NotifySettings = { ...NOTIFY_SETTINGS, ...options.settings };
  const owner = 'dispatcher-1';
  const ctx: RoutingContext = {
    customerEmails: options.customerEmails ?? true,
    opsChannel: '#refunds',
    escalationChannel: settings.escalationChannel,
    escalationEmailTo: settings.escalationEmailTo,
    playbook: playbookLookup(resultCodes),
  };
  const planDeliveries: DeliveryPlanner = createDeliveryPlanner({ tree: routingTree(options.routing), ctx, slackEnabled: true, emailEnabled: true });
  const deps: NotifierDeps = { store: used, owner, slack, email: options.emailPort ?? email, render: options.merchants ? createRenderers(loadTemplates(), TEST_EMAIL_FROM, options.merchants) : renderers, settings, clock, logger: quietLogger, tracing: options.tracing };
  const dispatcher: OutboxDispatcher = createOutboxDispatcher({
    store: used,
    publisher,
    planDeliveries,
    deliver: createDeliverySender(deps),
    fallbackFor: createFallbackPlanner(deps),
    coalesce: createBacklogCoalescer(deps),
    giveUpAfterMs: (entry) => (entry.channel === CUSTOMER_CHANNEL ? settings.customerGiveUpAfterMs : settings.giveUpAfterMs),
    clock,
    sleep: clock.sleep,
    logger: quietLogger,
    owner,
    observations: options.observations,
    ...options.dispatcher,
  });
  const decisionDeps = {
    clock,
    random: () => 0.5,
    schedule: SCHEDULE,
    topics: TOPICS,
    routeNotice: planDeliveries,
    logger: quietLogger,
    observations: options.observations,
  };
  /** The notifyRefund use case over `on` (the app's store unless a test wraps it). */
  const receiverOn = (on: RefundStore) => createReceiveNotification({ ...decisionDeps, store: on, classify: (n) => classifyRefundNotification(n, resultCodes) });
  const receive = receiverOn(store);

  async function notify(n: number, outcome: { status: 'SUCCESS' } | { status: 'FAIL'; code: string }): Promise<NotificationResult> {
    const refund = await store.getRefund(refundKey(n));
    if (!refund) throw new Error(`refund ${n} is not tracked`);
    return receive(refundNotification(refund, outcome, clock.now()));
  }

  return {
    clock,
    store,
    slack,
    email,
    publisher,
    settings,
    planDeliveries,
    dispatcher,
    receiverOn,
    flushGroups: createGroupFlusher(deps),
    remindStalled: createStalledReminders(deps),
    sweepDeadlines: createSweepDeadlines({ ...decisionDeps, store }),
    /** Tracks refunds (numbers are newRefund's), due for their first inquiry now. */
    async track(...refunds: Array<number | NewRefund>): Promise<void> {
      const now = clock.now();
      await store.trackRefunds(refunds.map((r) => (typeof r === 'number' ? newRefund(r) : r)), { now, firstPollAt: now, antomApi: 'v2' });
    },
    complete: (n: number) => notify(n, { status: 'SUCCESS' }),
    fail: (n: number, code: string) => notify(n, { status: 'FAIL', code }),
    /** Dispatcher passes until one finds nothing due; returns how many entries they handled. */
    async dispatch(): Promise<number> {
      let total = 0;
      for (let pass = 0; pass < 100; pass++) {
        const handled = await dispatcher.dispatchOnce();
        if (handled === 0) return total;
        total += handled;
      }
      throw new Error('the outbox never ran dry: 100 passes');
    },
    outbox: (filter: Omit<OutboxFilter, 'limit'> = {}): Promise<OutboxEntry[]> => store.listOutbox({ ...filter, limit: 1000 }),
    /** When the next pending entry is due (undefined when none is pending). */
    async nextDueAt(): Promise<number | undefined> {
      const pending = await store.listOutbox({ status: 'pending', limit: 1000 });
      return pending.length === 0 ? undefined : Math.min(...pending.map((e) => e.availableAt));
    },
    close: () => store.close(),
  };
}

/** The poll loop over the app's store, asking `antom`, one inquiry at a time. */
export function createTestPollLoop(app: TestApp, antom: PollLoopDeps['antom'], over: Partial<PollLoopDeps> = {}): PollLoop {
  return createPollLoop({
    store: app.store,
    antom,
    classify: (outcome: InquiryOutcome) => classifyInquiry(outcome, resultCodes),
    limiter: createOpenLimiter(),
    clock: app.clock,
    random: () => 0.5,
    sleep: app.clock.sleep,
    logger: quietLogger,
    schedule: SCHEDULE,
    topics: TOPICS,
    routeNotice: app.planDeliveries,
    api: 'v2',
    concurrency: 1,
    owner: 'poller-1',
    requestTimeoutMs: 10 * SECOND,
    ...over,
  });
}

/** Writes a decision about `refund` the way the poll loop does, for tests of what it writes. */
export function commitFor(app: TestApp) {
  return createCommitDecision({ apply: (input) => app.store.applyDecision(input), topics: TOPICS, routeNotice: app.planDeliveries });
}
