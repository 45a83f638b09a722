import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Secrets are censored outright; customer emails are
 * masked by `maskEmail` wherever code logs them on purpose, and censored here as a safety net for
 * objects that happen to carry them.
 */
const REDACT_PATHS = [
  'privateKey',
  '*.privateKey',
  'ANTOM_PRIVATE_KEY',
  '*.ANTOM_PRIVATE_KEY',
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'SLACK_BOT_TOKEN',
  '*.SLACK_BOT_TOKEN',
  'SLACK_WEBHOOK_URL',
  '*.SLACK_WEBHOOK_URL',
  'password',
  '*.password',
  'KAFKA_SASL_PASSWORD',
  '*.KAFKA_SASL_PASSWORD',
  'SMTP_URL',
  '*.SMTP_URL',
  'smtpUrl',
  '*.smtpUrl',
  'ADMIN_TOKEN',
  '*.ADMIN_TOKEN',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'signature',
  '*.signature',
  'email',
  '*.email',
  'customer.email',
  '*.customer.email',
  'to',
  '*.to',
];

export interface LoggerSettings {
  level: string;
  name?: string;
  destination?: DestinationStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    name: settings.name ?? 'refund-notifier',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** `jane.doe@example.com` -> `j***@e***.com`: enough to correlate, not enough to contact. */
export function maskEmail(address: string | null | undefined): string | undefined {
  if (!address) return undefined;
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const tld = dot >= 0 ? domain.slice(dot) : '';
  return `${local[0]}***@${domain[0] ?? ''}***${tld}`;
}
