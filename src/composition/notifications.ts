import type { Logger } from 'pino';
import { createCustomerEmailOutage, type CustomerEmailOutage } from '../app/customer-email-outage.js';
import type { BacklogCoalescer, DeliverySender, FallbackPlanner, NoticePlanner } from '../app/dispatch-outbox.js';
import {
  createBacklogCoalescer,
  createDigest,
  createGroupFlusher,
  createNoticePlanner,
  createNotificationSender,
  createStalledReminders,
  type SlackPort,
} from '../app/notify.js';
import type { NoticeRouter } from '../app/outbox-entries.js';
import type { Clock, RefundStore } from '../app/ports.js';
import { createMailer, type Mailer } from '../adapters/email/mailer.js';
import { loadTemplates } from '../adapters/email/templates.js';
import { createRenderers } from '../adapters/notify/renderers.js';
import { createSlackNotifier } from '../adapters/slack/client.js';
import type { AppConfig } from '../config/load.js';
import { loadRoutingTree, routingFilePath } from '../config/routing.js';
import type { ResultCodeTable } from '../domain/result-codes.js';
import { playbookLookup } from '../domain/routing.js';
import { mailerSettings, notifySettings, routingContext, slackSettings } from './settings.js';

/** Everything the service needs to tell people what happened (docs/notifications.md). */
export interface Notifications {
  readonly mailer: Mailer | undefined;
  /** Expands a notice left for the dispatcher into its deliveries. */
  readonly planNotice: NoticePlanner;
  /** Routes a notice when its decision is written; absent when the planner is replaced (tests). */
  readonly routeNotice: NoticeRouter | undefined;
  readonly deliver: DeliverySender;
  readonly fallbackFor: FallbackPlanner;
  readonly coalesce: BacklogCoalescer;
  readonly customerEmailOutage: CustomerEmailOutage;
  /** Scheduled jobs. */
  readonly flushGroups: () => Promise<number>;
  readonly remindStalled: () => Promise<number>;
  readonly digest: () => Promise<boolean>;
}

/**
 * Routing, templates and transports are loaded here, at construction, so a bad routing file or
 * template stops the start with its file and line, not the first escalation.
 */
export function wireNotifications(
  config: AppConfig,
  base: { store: RefundStore; owner: string; clock: Clock; logger: Logger; resultCodes: ResultCodeTable },
  replace: { planNotice?: NoticePlanner; deliver?: DeliverySender } = {},
): Notifications {
  const { store, owner, clock, logger } = base;
  const routingTree = loadRoutingTree(routingFilePath(config.configDir), { knownReasonCodes: base.resultCodes.rules.keys() });
  const v = config.values;
  const render = createRenderers(loadTemplates({ configDir: config.configDir }), v.EMAIL_FROM);
  const slack: SlackPort = createSlackNotifier(slackSettings(v), { logger });
  const mailing = mailerSettings(v);
  const mailer = mailing ? createMailer(mailing, { logger }) : undefined;
  const settings = notifySettings(v);
  const noticePlanner = createNoticePlanner({
    tree: routingTree,
    ctx: { ...routingContext(v), playbook: playbookLookup(base.resultCodes) },
    slackEnabled: slack.mode !== 'off',
    emailEnabled: mailer !== undefined,
    clock,
  });
  const deps = { store, owner, slack, ...(mailer ? { email: mailer } : {}), render, settings, clock, logger };
  const sender = createNotificationSender(deps);
  return {
    mailer,
    planNotice: replace.planNotice ?? noticePlanner,
    // Deliveries are routed when the outcome is decided and written in the same transaction; only
    // a replaced planner (tests) leaves them as notices for the dispatcher.
    routeNotice: replace.planNotice ? undefined : noticePlanner,
    deliver: replace.deliver ?? sender.deliver,
    fallbackFor: sender.fallbackFor,
    coalesce: createBacklogCoalescer(deps),
    customerEmailOutage: createCustomerEmailOutage({
      store,
      clock,
      logger,
      receiver:
        slack.mode !== 'off'
          ? { type: 'slack', channel: settings.escalationChannel }
          : settings.escalationEmailTo.length > 0
            ? { type: 'email', to: [...settings.escalationEmailTo].sort() }
            : undefined,
      announceAfterMs: settings.fallbackAfterMs,
      giveUpAfterMs: settings.customerGiveUpAfterMs,
    }),
    flushGroups: createGroupFlusher(deps),
    remindStalled: createStalledReminders(deps),
    digest: createDigest({ store, slack, render, channel: v.SLACK_OPS_CHANNEL, clock }),
  };
}
