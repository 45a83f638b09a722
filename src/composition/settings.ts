import type { NotifySettings } from '../app/notify/vocabulary.js';
import type { KafkaSettings } from '../adapters/kafka/client.js';
import type { MailerSettings } from '../adapters/email/mailer.js';
import type { SlackSettings } from '../adapters/slack/client.js';
import type { StoreTarget } from '../adapters/store/create-store.js';
import type { TracingSettings } from '../adapters/tracing/otel.js';
import type { AppConfig } from '../config/load.js';
import type { SettingValues } from '../config/settings.js';
import type { RoutingContext } from '../domain/routing.js';
import type { ScheduleSettings } from '../domain/schedule.js';

/**
 * Where each setting meets the component that uses it: from its environment name straight into
 * that component's own settings type, once (docs/configuration.md lists them all). The components
 * never see the environment names, and nothing in between renames a setting again.
 */

// 20 % either way spreads refunds recorded together over time, so a burst of initiations does not
// come back as a burst of inquiries at every backoff step.
const SCHEDULE_JITTER = 0.2;

export function scheduleSettings(v: SettingValues): ScheduleSettings {
  return {
    firstDelayMs: v.POLL_FIRST_DELAY,
    maxIntervalMs: v.POLL_MAX_INTERVAL,
    stalledAfterMs: v.POLL_STALLED_AFTER,
    giveUpAfterMs: v.POLL_GIVE_UP_AFTER,
    notFoundGraceMs: v.POLL_NOT_FOUND_GRACE,
    confirmFailureAfterMs: v.POLL_CONFIRM_FAILURE_AFTER,
    jitter: SCHEDULE_JITTER,
  };
}

/** The poll loop's own settings (its dependencies are wired in main.ts). */
export function pollSettings(v: SettingValues) {
  return {
    api: v.ANTOM_API,
    concurrency: v.ANTOM_CONCURRENCY,
    requestTimeoutMs: v.ANTOM_TIMEOUT,
    slowDownMs: v.ANTOM_SLOWDOWN,
  };
}

export function outcomeTopics(v: SettingValues) {
  return { completed: v.TOPIC_REFUND_COMPLETED, failed: v.TOPIC_REFUND_FAILED, stalled: v.TOPIC_REFUND_STALLED };
}

/** Every topic the service reads or writes (created at startup with KAFKA_CREATE_TOPICS). */
export function allTopics(v: SettingValues): string[] {
  return [v.TOPIC_REFUND_INITIATED, ...Object.values(outcomeTopics(v)), v.TOPIC_DEAD_LETTER];
}

export function kafkaSettings(v: SettingValues): KafkaSettings {
  const mechanism = v.KAFKA_SASL_MECHANISM;
  return {
    brokers: v.KAFKA_BROKERS,
    clientId: v.KAFKA_CLIENT_ID,
    ssl: v.KAFKA_SSL,
    // The loader has checked that a mechanism comes with its user and password.
    sasl: mechanism && mechanism !== 'off' ? { mechanism, username: v.KAFKA_SASL_USERNAME ?? '', password: v.KAFKA_SASL_PASSWORD ?? '' } : undefined,
  };
}

/** The ingest consumer's own settings. */
export function ingestSettings(v: SettingValues) {
  return {
    groupId: v.KAFKA_GROUP_ID,
    topic: v.TOPIC_REFUND_INITIATED,
    deadLetterTopic: v.TOPIC_DEAD_LETTER,
    antomApi: v.ANTOM_API,
    batchSize: v.INGEST_BATCH_SIZE,
    sessionTimeoutMs: v.KAFKA_SESSION_TIMEOUT,
  };
}

export function storeTarget(config: AppConfig): StoreTarget {
  return { ...config.database, sqliteSynchronous: config.values.SQLITE_SYNCHRONOUS };
}

export function notifySettings(v: SettingValues): NotifySettings {
  return {
    groupWindowMs: v.NOTIFY_GROUP_WINDOW,
    groupUpdateIntervalMs: v.NOTIFY_GROUP_UPDATE_INTERVAL,
    reminderIntervalMs: v.STALLED_REMINDER_INTERVAL,
    staleAfterMs: v.NOTIFY_STALE_AFTER,
    fallbackAfterMs: v.NOTIFY_FALLBACK_AFTER,
    customerGiveUpAfterMs: v.CUSTOMER_EMAIL_GIVE_UP_AFTER,
    giveUpAfterMs: v.NOTIFY_GIVE_UP_AFTER,
    escalationEmailTo: v.ESCALATION_EMAIL_TO ?? [],
    escalationChannel: v.SLACK_ESCALATION_CHANNEL,
  };
}

/** What `$SLACK_OPS_CHANNEL` and the other routing.yaml variables stand for. */
export function routingContext(v: SettingValues): Omit<RoutingContext, 'playbook'> {
  return {
    customerEmails: v.CUSTOMER_EMAILS,
    opsChannel: v.SLACK_OPS_CHANNEL,
    escalationChannel: v.SLACK_ESCALATION_CHANNEL,
    escalationEmailTo: v.ESCALATION_EMAIL_TO ?? [],
  };
}

export function slackSettings(v: SettingValues): SlackSettings {
  return { botToken: v.SLACK_BOT_TOKEN, webhookUrl: v.SLACK_WEBHOOK_URL, apiUrl: v.SLACK_API_URL };
}

/**
 * Undefined when SMTP_URL is unset: email is off. DKIM signs when its three settings are set (the
 * loader has checked they come together, and that the domain is aligned with EMAIL_FROM's).
 */
export function mailerSettings(v: SettingValues): MailerSettings | undefined {
  if (v.SMTP_URL === undefined) return undefined;
  const { EMAIL_DKIM_DOMAIN: domain, EMAIL_DKIM_SELECTOR: selector, EMAIL_DKIM_PRIVATE_KEY: privateKey } = v;
  const dkim = domain !== undefined && selector !== undefined && privateKey !== undefined ? { domain, selector, privateKey } : undefined;
  return { smtpUrl: v.SMTP_URL, from: v.EMAIL_FROM, ...(dkim ? { dkim } : {}) };
}

export function httpSettings(v: SettingValues) {
  return { host: v.HTTP_HOST, port: v.HTTP_PORT, adminPort: v.ADMIN_PORT, notifyPath: v.ANTOM_NOTIFY_PATH, adminToken: v.ADMIN_TOKEN };
}

/**
 * Where spans go: the traces endpoint as given, else the base endpoint with /v1/traces added, as
 * the OpenTelemetry specification defines the two; neither: nothing is exported.
 */
export function tracingSettings(v: SettingValues): TracingSettings {
  const base = v.OTEL_EXPORTER_OTLP_ENDPOINT;
  return { tracesUrl: v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base === undefined ? undefined : `${base}/v1/traces`), serviceName: v.OTEL_SERVICE_NAME };
}
