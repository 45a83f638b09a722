import type { Logger } from 'pino';
import { createBacklogCoalescer, type BacklogCoalescer } from '../app/notify/coalesce-backlog.js';
import { createCustomerEmailOutage, type CustomerEmailOutage } from '../app/notify/customer-email-outage.js';
import { createFallbackPlanner, type FallbackPlanner } from '../app/notify/fall-back.js';
import { createGroupFlusher } from '../app/notify/flush-groups.js';
import { createDeliveryPlanner, type DeliveryPlanner } from '../app/notify/plan-deliveries.js';
import { createStalledReminders } from '../app/notify/remind-stalled.js';
import { createDeliverySender, type DeliverySender } from '../app/notify/send-delivery.js';
import { createDigest } from '../app/notify/send-digest.js';
import type { Clock, RefundStore, SlackPort, Tracing } from '../app/ports.js';
import { createMailer, type Mailer } from '../adapters/email/mailer.js';
import { loadTemplates } from '../adapters/email/templates.js';
import { createRenderers } from '../adapters/notify/renderers.js';
import { createSlackNotifier } from '../adapters/slack/client.js';
import type { AppConfig } from '../config/load.js';
import { loadMerchants } from '../config/merchants.js';
import { loadRoutingTree, routingFilePath } from '../config/routing.js';
import type { ResultCodeTable } from '../domain/result-codes.js';
import { playbookLookup } from '../domain/routing.js';
import { mailerSettings, notifySettings, routingContext, slackSettings } from './settings.js';

/** Everything the service needs to tell people what happened (docs/notifications.md). */
export interface Notifications {
  readonly mailer: Mailer | undefined;
  /** Routes a notice into deliveries, when its decision is written (and old notices in the outbox). */
  readonly planDeliveries: DeliveryPlanner;
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
  base: { store: RefundStore; owner: string; clock: Clock; logger: Logger; resultCodes: ResultCodeTable; tracing?: Tracing },
): Notifications {
  const { store, owner, clock, logger, tracing } = base;
  const routingTree = loadRoutingTree(routingFilePath(config.configDir), { knownReasonCodes: base.resultCodes.rules.keys() });
  const v = config.values;
  // The merchants' brands on the customer email (docs/notifications.md, "The merchant's brand"):
  // checked here with the rest, their senders against the DKIM domain when emails are signed.
  const merchants = loadMerchants(config.configDir, { dkimDomain: v.EMAIL_DKIM_DOMAIN });
  if (merchants.merchants.size > 0 || merchants.fallback) {
    logger.info({ merchants: merchants.merchants.size, default: merchants.fallback !== undefined }, 'customer emails carry the brands in merchants.yaml');
  }
  const render = createRenderers(loadTemplates({ configDir: config.configDir }), v.EMAIL_FROM, merchants);
  const slack: SlackPort = createSlackNotifier(slackSettings(v), { logger });
  const mailing = mailerSettings(v);
  const mailer = mailing ? createMailer(mailing, { logger }) : undefined;
  const settings = notifySettings(v);
  const deps = { store, owner, slack, email: mailer, render, settings, clock, logger, tracing };
  return {
    mailer,
    planDeliveries: createDeliveryPlanner({
      tree: routingTree,
      ctx: { ...routingContext(v), playbook: playbookLookup(base.resultCodes) },
      slackEnabled: slack.mode !== 'off',
      emailEnabled: mailer !== undefined,
    }),
    deliver: createDeliverySender(deps),
    fallbackFor: createFallbackPlanner(deps),
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
    digest: createDigest({ store, slack, channel: v.SLACK_OPS_CHANNEL, timeZone: v.DIGEST_TIMEZONE, clock }),
  };
}
