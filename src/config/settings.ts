import { createPrivateKey, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { dkimDomainProblem, dkimKeyProblem, dkimSelectorProblem, normalDomain } from './dkim.js';
import { parseDuration } from './duration.js';
import { isEmailAddress, senderProblem } from '../domain/email-address.js';
import { isTimeZone } from '../domain/job-periods.js';

/**
 * Every setting the service reads, by the name the contract gives it. Each value arrives as a
 * string (from the environment, a `*_FILE`, or config/default.yaml) or is absent; each parser
 * turns it into a typed value or says, in words an operator can act on, what is wrong.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off', '']);

type Parser<T> = z.ZodType<T, string | undefined>;

function fail(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
}

function required<T>(parse: (text: string, ctx: z.RefinementCtx) => T, what: string): Parser<T> {
  return z.string({ error: `is required (${what})` }).transform((text, ctx) => {
    if (text.trim() === '') return fail(ctx, `is required (${what})`);
    return parse(text.trim(), ctx);
  }) as unknown as Parser<T>;
}

function optional<T>(parse: (text: string, ctx: z.RefinementCtx) => T): Parser<T | undefined> {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return undefined;
      return parse(text.trim(), ctx);
    }) as unknown as Parser<T | undefined>;
}

const asText = (text: string) => text;

function asTimeZone(text: string, ctx: z.RefinementCtx): string {
  if (isTimeZone(text)) return text;
  return fail(ctx, `must be an IANA time zone such as UTC, Europe/Berlin or Asia/Singapore, got "${text}"`);
}

function asInt(min: number, max: number) {
  return (text: string, ctx: z.RefinementCtx): number => {
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
      return fail(ctx, `must be a whole number, got "${text}"`);
    }
    if (value < min || value > max) return fail(ctx, `must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

function asDuration(minMs: number) {
  return (text: string, ctx: z.RefinementCtx): number => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      return fail(ctx, `must be a duration such as 500ms, 5s, 10m, 2h or 14d, got "${text}"`);
    }
    if (ms < minMs) return fail(ctx, `must be at least ${minMs}ms, got ${text}`);
    return ms;
  };
}

/** NOTIFY_FALLBACK_AFTER was once a count of attempts: a bare number says it is a duration now. */
function asFallbackDuration(text: string, ctx: z.RefinementCtx): number {
  if (/^\d+$/.test(text)) {
    return fail(ctx, `is a duration now (e.g. 5m), not a count of attempts; got "${text}"`);
  }
  return asDuration(1000)(text, ctx);
}

function asBool(text: string, ctx: z.RefinementCtx): boolean {
  const word = text.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return fail(ctx, `must be true or false (also on/off, yes/no, 1/0), got "${text}"`);
}

function asEnum<T extends string>(values: readonly T[]) {
  return (text: string, ctx: z.RefinementCtx): T => {
    const word = text.toLowerCase() as T;
    if (values.includes(word)) return word;
    return fail(ctx, `must be one of ${values.join(', ')}, got "${text}"`);
  };
}

function asHttpUrl(text: string, ctx: z.RefinementCtx): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(ctx, `must be an http(s) URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(ctx, `must be an http(s) URL, got protocol "${url.protocol}"`);
  }
  return text.replace(/\/+$/, '');
}

function asBrokers(text: string, ctx: z.RefinementCtx): string[] {
  const brokers = text.split(',').map((b) => b.trim()).filter((b) => b !== '');
  const bad = brokers.filter((b) => !/^[A-Za-z0-9._\-[\]:]+:\d{1,5}$/.test(b));
  if (brokers.length === 0) return fail(ctx, 'must list at least one host:port');
  if (bad.length > 0) return fail(ctx, `must be comma-separated host:port pairs; not valid: ${bad.join(', ')}`);
  return brokers;
}

function asTopic(text: string, ctx: z.RefinementCtx): string {
  // Kafka's own rule for topic names (Topic.java): legal characters and at most 249 of them.
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(text) || text === '.' || text === '..') {
    return fail(ctx, `must be a Kafka topic name (letters, digits, '.', '_', '-'; at most 249), got "${text}"`);
  }
  return text;
}

function asEmailList(text: string, ctx: z.RefinementCtx): string[] {
  const list = text.split(',').map((a) => a.trim()).filter((a) => a !== '');
  const bad = list.filter((a) => !isEmailAddress(a));
  if (bad.length > 0) return fail(ctx, `must be comma-separated email addresses; not valid: ${bad.join(', ')}`);
  return list;
}

function asSender(text: string, ctx: z.RefinementCtx): string {
  const problem = senderProblem(text);
  return problem === undefined ? text : fail(ctx, problem);
}

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

function asDatabaseUrl(text: string, ctx: z.RefinementCtx): DatabaseTarget {
  if (text.startsWith('sqlite:')) {
    const path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') return fail(ctx, 'sqlite: needs a file path, e.g. sqlite:./data/refund-notifier.db');
    return { kind: 'sqlite', path };
  }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) {
    try {
      new URL(text);
    } catch {
      return fail(ctx, 'is not a valid postgres:// URL');
    }
    return { kind: 'postgres', url: text };
  }
  return fail(ctx, `must start with sqlite: or postgres://, got "${text.split(':')[0]}:…"`);
}

function asSmtpUrl(text: string, ctx: z.RefinementCtx): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(ctx, 'must be smtp://user:pass@host:port or smtps://…');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    return fail(ctx, `must use smtp:// or smtps://, got "${url.protocol}//"`);
  }
  if (url.hostname === '') return fail(ctx, 'must name a host');
  return text;
}

/** Keys are accepted as PEM or as Antom's base64 DER; the check proves the key actually loads. */
function asKey(kind: 'private' | 'public') {
  const der = kind === 'private' ? 'base64 PKCS#8 DER' : 'base64 SPKI (X.509) DER';
  return (text: string, ctx: z.RefinementCtx): string => {
    try {
      const key = text.includes('-----BEGIN')
        ? kind === 'private'
          ? createPrivateKey(text)
          : createPublicKey(text)
        : kind === 'private'
          ? createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' })
          : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
      if (key.asymmetricKeyType !== 'rsa') {
        return fail(ctx, `must be an RSA key, got ${key.asymmetricKeyType ?? 'an unknown type'}`);
      }
    } catch {
      return fail(ctx, `is not a ${der} RSA ${kind} key, nor a PEM one`);
    }
    return text;
  };
}

/** A parser from a check that returns what is wrong (dkim.ts), and the value in its usual form. */
function checked(problem: (text: string) => string | undefined, normal: (text: string) => string = (text) => text) {
  return (text: string, ctx: z.RefinementCtx): string => {
    const wrong = problem(text);
    return wrong === undefined ? normal(text) : fail(ctx, wrong);
  };
}

function asPath(text: string, ctx: z.RefinementCtx): string {
  if (text.includes('\0')) return fail(ctx, 'must be a path');
  return text;
}

function asHttpPath(text: string, ctx: z.RefinementCtx): string {
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(text)) return fail(ctx, `must be a URL path starting with /, got "${text}"`);
  return text;
}

function asSlackChannel(text: string, ctx: z.RefinementCtx): string {
  if (!/^(#[a-z0-9_-]{1,80}|[CGD][A-Z0-9]{6,})$/.test(text)) {
    return fail(ctx, `must be a channel name such as #refunds or a channel id such as C0123ABCD, got "${text}"`);
  }
  return text;
}

/**
 * What kind of value a setting holds. It decides how `config check` shows the value (a duration
 * as 5m, a URL with its password masked, a key by its length) and is listed in
 * docs/configuration.md; the parser alone would not say.
 */
export type SettingFormat =
  | 'text'
  | 'whole-number'
  | 'boolean'
  | 'choice'
  | 'duration'
  | 'url'
  | 'url-with-credentials'
  | 'host-port-list'
  | 'topic'
  | 'email-list'
  | 'sender'
  | 'hostname'
  | 'dns-label'
  | 'rsa-key'
  | 'path'
  | 'url-path'
  | 'slack-channel'
  | 'cron'
  | 'time-zone';

export interface SettingSpec {
  readonly format: SettingFormat;
  readonly parser: Parser<unknown>;
  /** Never printed (nor logged): `config check` shows only that it is set and its length. */
  readonly secret?: boolean;
  /** Secrets and large values may come from a file named by `<NAME>_FILE`. */
  readonly fileVariant?: boolean;
  readonly description: string;
}

function setting<T>(
  format: SettingFormat,
  parser: Parser<T>,
  description: string,
  flags: { secret?: boolean; fileVariant?: boolean } = {},
) {
  return { format, parser, description, ...flags } as const;
}

export const SETTINGS = {
  KAFKA_BROKERS: setting('host-port-list', required(asBrokers, 'host:port list'), 'comma-separated bootstrap servers'),
  KAFKA_CLIENT_ID: setting('text', required(asText, 'a client id'), 'Kafka client id'),
  KAFKA_GROUP_ID: setting('text', required(asText, 'a consumer group id'), 'Kafka consumer group of the ingest'),
  KAFKA_SSL: setting('boolean', required(asBool, 'true or false'), 'TLS to the brokers'),
  KAFKA_SASL_MECHANISM: setting(
    'choice', optional(asEnum(['off', 'plain', 'scram-sha-256', 'scram-sha-512'] as const)),
    'SASL mechanism: off, plain, scram-sha-256 or scram-sha-512',
  ),
  KAFKA_SASL_USERNAME: setting('text', optional(asText), 'SASL user'),
  KAFKA_SASL_PASSWORD: setting('text', optional(asText), 'SASL password', { secret: true, fileVariant: true }),
  KAFKA_SESSION_TIMEOUT: setting(
    'duration', required(asDuration(1000), 'a duration'),
    'consumer session timeout: how long the group waits for a silent member (e.g. a killed instance) before reassigning its partitions',
  ),
  KAFKA_CREATE_TOPICS: setting(
    'boolean', required(asBool, 'true or false'),
    'create missing topics at startup with the broker defaults (off where topics are managed elsewhere)',
  ),
  TOPIC_REFUND_INITIATED: setting('topic', required(asTopic, 'a topic'), 'input topic'),
  TOPIC_REFUND_COMPLETED: setting('topic', required(asTopic, 'a topic'), 'output: refund reached SUCCESS'),
  TOPIC_REFUND_FAILED: setting('topic', required(asTopic, 'a topic'), 'output: refund reached a final failure'),
  TOPIC_REFUND_STALLED: setting('topic', required(asTopic, 'a topic'), 'output: refund not final past its deadline'),
  TOPIC_DEAD_LETTER: setting('topic', required(asTopic, 'a topic'), 'input records that could not be accepted'),
  INGEST_BATCH_SIZE: setting(
    'whole-number', required(asInt(1, 5000), 'records per store transaction'),
    'largest number of records written in one store transaction by the ingest',
  ),
  DATABASE_URL: setting(
    'url-with-credentials', required(asDatabaseUrl, 'sqlite:PATH or postgres://…'),
    'sqlite:PATH (embedded default) or postgres://… (several instances)',
    { secret: true, fileVariant: true },
  ),
  SQLITE_SYNCHRONOUS: setting(
    'choice', required(asEnum(['full', 'normal'] as const), 'full or normal'),
    'SQLite durability: full survives power loss, normal survives a process crash',
  ),
  ANTOM_BASE_URL: setting(
    'url', optional(asHttpUrl),
    "Antom gateway (required with ANTOM_API=v2: Antom gives each merchant its host; v1 defaults to https://open-sea-global.alipay.com), or the sandbox; https unless the host is loopback or the client id a SANDBOX_ one",
  ),
  ANTOM_API: setting('choice', required(asEnum(['v1', 'v2'] as const), 'v1 or v2'), 'inquiryRefund flavour'),
  ANTOM_INQUIRY_PATH: setting('url-path', optional(asHttpPath), 'override of the inquiry path'),
  ANTOM_CLIENT_ID: setting('text', optional(asText), 'Antom client id; required to poll'),
  ANTOM_PRIVATE_KEY: setting('rsa-key', optional(asKey('private')), 'merchant private key: base64 PKCS#8 DER, or PEM', {
    secret: true,
    fileVariant: true,
  }),
  ANTOM_PUBLIC_KEY: setting('rsa-key', optional(asKey('public')), "Antom's public key: base64 SPKI DER, or PEM", {
    fileVariant: true,
  }),
  ANTOM_PUBLIC_KEY_NEXT: setting(
    'rsa-key', optional(asKey('public')),
    "Antom's next public key during a key rotation: answers and notifications verify with either key",
    { fileVariant: true },
  ),
  ANTOM_RESPONSE_MAX_AGE: setting(
    'duration', required(asDuration(1000), 'a duration'),
    "a signed answer whose response-time is further than this from our clock is refused like a forged one (a replay)",
  ),
  ANTOM_KEY_VERSION: setting('text', required(asText, 'a key version'), 'keyVersion in the Signature header'),
  ANTOM_TIMEOUT: setting('duration', required(asDuration(100), 'a duration'), 'per request'),
  ANTOM_RATE_LIMIT: setting('whole-number', required(asInt(1, 100_000), 'requests per second'), 'inquiry requests per second, at most (for the whole cluster on a shared PostgreSQL store)'),
  ANTOM_CONCURRENCY: setting('whole-number', required(asInt(1, 1024), 'requests in flight'), 'inquiries in flight, at most'),
  POLL_FIRST_DELAY: setting('duration', required(asDuration(0), 'a duration'), 'first inquiry after the refund is recorded'),
  POLL_MAX_INTERVAL: setting('duration', required(asDuration(1000), 'a duration'), 'ceiling of the backoff'),
  POLL_STALLED_AFTER: setting('duration', required(asDuration(1000), 'a duration'), 'not final by then: refund.stalled and escalation'),
  POLL_GIVE_UP_AFTER: setting('duration', required(asDuration(1000), 'a duration'), 'polling stops; the refund stays visible as stalled'),
  POLL_NOT_FOUND_GRACE: setting(
    'duration', required(asDuration(0), 'a duration'),
    'an unknown refund (not found at Antom) is retried this long before it is stalled and escalated as an integration fault',
  ),
  POLL_CONFIRM_FAILURE_AFTER: setting(
    'duration', required(asDuration(0), 'a duration'),
    'a failure read from a signed F result (which names no refund) is confirmed by asking again this long after',
  ),
  ANTOM_SLOWDOWN: setting(
    'duration', required(asDuration(1000), 'a duration'),
    'after a traffic-limit answer the whole cluster inquires at a quarter of ANTOM_RATE_LIMIT for this long',
  ),
  OUTBOX_RETENTION: setting(
    'duration', required(asDuration(60_000), 'a duration'),
    'sent outbox entries (events, notifications) are kept this long for inspection, then deleted',
  ),
  CUSTOMER_DATA_RETENTION: setting(
    'duration', required(asDuration(60_000), 'a duration'),
    "a refund's customer name and email are erased this long after it became final, from the refund and every outbox entry",
  ),
  HISTORY_RETENTION: setting(
    'duration', required(asDuration(60_000), 'a duration'),
    "a final refund's timeline and Slack thread, and closed notification groups, are deleted this long after; the refund row stays",
  ),
  SLACK_BOT_TOKEN: setting('text', optional(asText), 'Slack bot token', { secret: true, fileVariant: true }),
  SLACK_API_URL: setting('url', required(asHttpUrl, 'an http(s) URL'), 'base URL of the Slack Web API'),
  SLACK_WEBHOOK_URL: setting('url', optional(asHttpUrl), 'incoming webhook, the alternative to a bot token', {
    secret: true,
    fileVariant: true,
  }),
  SLACK_OPS_CHANNEL: setting('slack-channel', required(asSlackChannel, 'a channel'), 'where refund outcomes and alerts go'),
  SLACK_ESCALATION_CHANNEL: setting('slack-channel', required(asSlackChannel, 'a channel'), 'where escalations go'),
  SMTP_URL: setting('url-with-credentials', optional(asSmtpUrl), 'smtp://user:pass@host:port or smtps://…', { secret: true, fileVariant: true }),
  EMAIL_FROM: setting('sender', required(asSender, 'a sender'), 'sender of every email'),
  ESCALATION_EMAIL_TO: setting('email-list', optional(asEmailList), 'comma-separated addresses for escalations'),
  EMAIL_DKIM_DOMAIN: setting(
    'hostname', optional(checked(dkimDomainProblem, normalDomain)),
    "DKIM signing domain (d=): EMAIL_FROM's domain or a parent of it; with EMAIL_DKIM_SELECTOR and EMAIL_DKIM_PRIVATE_KEY, or none",
  ),
  EMAIL_DKIM_SELECTOR: setting(
    'dns-label', optional(checked(dkimSelectorProblem)),
    'DKIM selector (s=): the public key is published at <selector>._domainkey.<domain>',
  ),
  EMAIL_DKIM_PRIVATE_KEY: setting(
    'rsa-key', optional(checked(dkimKeyProblem)),
    'DKIM signing key: PEM RSA private key, 2048 bits recommended (1024 at least)',
    { secret: true, fileVariant: true },
  ),
  CUSTOMER_EMAILS: setting('boolean', required(asBool, 'true or false'), 'email the customer when their refund completes'),
  NOTIFY_GROUP_WINDOW: setting(
    'duration', required(asDuration(1000), 'a duration'),
    'escalations with the same reason code inside this window become one message',
  ),
  NOTIFY_GROUP_UPDATE_INTERVAL: setting(
    'duration', required(asDuration(1000), 'a duration'),
    'a grouped Slack message is rewritten at most this often while refunds keep arriving',
  ),
  NOTIFY_STALE_AFTER: setting(
    'duration', required(asDuration(1000), 'a duration'),
    'Slack deliveries that waited longer than this (an outage) are coalesced into one summary per channel',
  ),
  NOTIFY_FALLBACK_AFTER: setting(
    'duration', required(asFallbackDuration, 'a duration'),
    'an ops message failing this long falls back to the other channel (Slack <-> escalation email); a customer-email outage this long is announced',
  ),
  NOTIFY_GIVE_UP_AFTER: setting(
    'duration', required(asDuration(60_000), 'a duration'),
    'an ops message (or its fallback) still failing this long after its first failure is given up (dead in /admin/outbox)',
  ),
  CUSTOMER_EMAIL_GIVE_UP_AFTER: setting(
    'duration', required(asDuration(60_000), 'a duration'),
    'a customer email is retried through temporary failures (SMTP 4xx, unreachable) this long after its first failure, then given up and escalated',
  ),
  STALLED_REMINDER_INTERVAL: setting(
    'duration', required(asDuration(1000), 'a duration'),
    'an unresolved stalled refund gets a reminder in the thread of its first message this often',
  ),
  DIGEST_CRON: setting(
    'cron', optional(asText),
    'when the daily digest goes to the ops channel (node-cron expression, read in DIGEST_TIMEZONE); empty: no digest',
  ),
  DIGEST_TIMEZONE: setting(
    'time-zone', required(asTimeZone, 'an IANA time zone'),
    'the time zone DIGEST_CRON is read in and the digest\'s day is counted in (one digest per day, cluster-wide)',
  ),
  HTTP_HOST: setting('text', required(asText, 'an address'), 'listen address of both HTTP listeners (notify and admin)'),
  HTTP_PORT: setting(
    'whole-number', required(asInt(0, 65535), 'a port'),
    "port of the notify listener, the one Antom reaches: Antom's notifyRefund and /healthz only (0 = any free port)",
  ),
  ADMIN_PORT: setting(
    'whole-number', required(asInt(0, 65535), 'a port'),
    'port of the admin listener, never exposed to the internet: /admin/*, /metrics, /healthz, /readyz (0 = any free port)',
  ),
  ANTOM_NOTIFY_PATH: setting('url-path', required(asHttpPath, 'a path'), "where Antom's notifyRefund is received"),
  ADMIN_TOKEN: setting('text', optional(asText), 'bearer token for /admin/*, and the log-in of the /console pages', { secret: true, fileVariant: true }),
  CONFIG_DIR: setting('path', required(asPath, 'a directory'), 'routing rules, result-code table, templates'),
  LOG_LEVEL: setting('choice', required(asEnum(LOG_LEVELS), 'a pino level'), 'pino level'),
  OTEL_EXPORTER_OTLP_ENDPOINT: setting(
    'url', optional(asHttpUrl),
    'OpenTelemetry collector (OTLP/HTTP, JSON) that spans are exported to, /v1/traces added; unset (and no OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): no spans are recorded, traces are still carried',
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: setting(
    'url', optional(asHttpUrl),
    'the full URL spans are exported to (OTLP/HTTP, JSON), used as given; wins over OTEL_EXPORTER_OTLP_ENDPOINT',
  ),
  OTEL_SERVICE_NAME: setting('text', required(asText, 'a service name'), 'service.name of the exported spans'),
  SHUTDOWN_TIMEOUT: setting(
    'duration', required(asDuration(100), 'a duration'),
    'how long the first SIGTERM waits for in-flight work before closing anyway',
  ),
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
export type SettingValues = { [K in SettingName]: z.output<(typeof SETTINGS)[K]['parser']> };

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];
