import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import shared from 'nodemailer/lib/shared/index.js';
import { RefundNotifierError } from '../../domain/errors.js';
import { maskEmail, type Logger } from '../log/logger.js';

/**
 * Sending email over SMTP with nodemailer. The transport is pooled by default: a refund backlog
 * sends thousands of emails, and a fresh TCP + EHLO + AUTH per message costs more than the message
 * (bench/notify measures it; docs/performance.md). Each send either resolves or throws an
 * EmailError whose `retriable` flag tells the outbox whether to try again.
 */

export interface MailerSettings {
  /** SMTP_URL: smtp://user:pass@host:port or smtps://… */
  readonly smtpUrl: string;
  /** EMAIL_FROM. */
  readonly from: string;
  /** Keep connections open and reuse them. Default true. */
  readonly pool?: boolean;
  /**
   * Connections at most (pool only). 5 is nodemailer's default and what most providers accept
   * per client before they start answering 421; more rarely helps, as SMTP servers throttle per IP.
   */
  readonly maxConnections?: number;
  /**
   * Connecting, and waiting for the greeting. 10 s: a reachable SMTP server greets within a
   * second; an unreachable one must not hold the dispatcher for nodemailer's default 2 minutes.
   */
  readonly timeoutMs?: number;
  /**
   * Inactivity on an open connection, mid-transaction or idle in the pool. 30 s: long enough for
   * a slow DATA acknowledgement (large queues scan before they answer), short enough that a hung
   * server fails the send instead of holding it for nodemailer's default hour.
   */
  readonly socketTimeoutMs?: number;
  /**
   * Open the TCP connection with Nagle's algorithm off (see connectWithoutNagle). Default true;
   * false leaves the socket to nodemailer (used by bench/notify to measure the difference).
   */
  readonly noDelay?: boolean;
}

export interface OutgoingEmail {
  readonly to: string | readonly string[];
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /**
   * A fixed Message-ID (see messageIdFor): a redelivery of the same notification carries the same
   * id, so a mailbox, a support tool or a test can tell a duplicate from a second email.
   */
  readonly messageId?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
  /** Connects and authenticates once: for startup checks and /readyz. */
  verify(): Promise<void>;
  /** Waits for sends in flight, then closes the pool. Idempotent. */
  close(): Promise<void>;
}

/**
 * A failed send. No `cause`: nodemailer's errors quote the recipient, and a logged cause would
 * print it unmasked; the message carries the SMTP reply with addresses masked instead.
 */
export class EmailError extends RefundNotifierError {
  /** The SMTP reply code, when the server gave one (451, 550, …). */
  readonly responseCode?: number;

  constructor(message: string, options: { code: string; retriable: boolean; responseCode?: number }) {
    super(message, { code: options.code, retriable: options.retriable });
    this.name = 'EmailError';
    if (options.responseCode !== undefined) this.responseCode = options.responseCode;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CONNECTIONS = 5;

/**
 * `<3f9a…@example.com>` from a dedupe key: the same key always gives the same id. Hashed, so the
 * id carries no customer data and only characters a Message-ID allows; the domain is the sender's.
 */
export function messageIdFor(dedupeKey: string, from: string): string {
  const hash = createHash('sha256').update(dedupeKey).digest('hex').slice(0, 32);
  return `<${hash}.refund-notifier@${senderDomain(from)}>`;
}

function senderDomain(from: string): string {
  const address = /<([^>]+)>\s*$/.exec(from)?.[1] ?? from;
  const domain = address.slice(address.lastIndexOf('@') + 1).trim();
  return /^[A-Za-z0-9.-]+$/.test(domain) && domain.includes('.') ? domain : 'refund-notifier.invalid';
}

export function createMailer(settings: MailerSettings, deps: { logger: Logger }): Mailer {
  const logger = deps.logger.child({ component: 'email' });
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pool = settings.pool ?? true;
  // The URL is parsed here rather than passed as `url`: given a `url`, createTransport builds
  // the transport from the URL alone and silently drops every other option (pool, timeouts).
  // nodemailer's own parser keeps SMTP_URL's query options (?requireTLS=true, ?tls.servername=…).
  const transport: Transporter = nodemailer.createTransport({
    ...shared.parseConnectionUrl(settings.smtpUrl),
    pool,
    ...(pool ? { maxConnections: settings.maxConnections ?? DEFAULT_MAX_CONNECTIONS } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    socketTimeout: settings.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    // nodemailer's own logger would print the SMTP conversation, AUTH included.
    logger: false,
    debug: false,
    ...(settings.noDelay === false ? {} : { getSocket: connectWithoutNagle }),
  } as Parameters<typeof nodemailer.createTransport>[0]);

  const inFlight = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  const send = async (email: OutgoingEmail): Promise<{ messageId: string }> => {
    if (closing) throw new EmailError('the mailer is closed', { code: 'EMAIL_CLOSED', retriable: true });
    const to = typeof email.to === 'string' ? [email.to] : [...email.to];
    const recipients = to.map((a) => maskEmail(a)).join(',');
    const attempt = transport.sendMail({
      from: settings.from,
      to,
      subject: email.subject,
      html: email.html,
      text: email.text,
      ...(email.messageId === undefined ? {} : { messageId: email.messageId }),
      ...(email.headers === undefined ? {} : { headers: { ...email.headers } }),
      // Nothing we send reads files or fetches URLs; refusing both keeps a template edit or an
      // odd value from turning the mailer into a file or network reader.
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    inFlight.add(attempt);
    try {
      const info = (await attempt) as { messageId: string };
      logger.debug({ recipient: recipients, messageId: info.messageId }, 'email sent');
      return { messageId: info.messageId };
    } catch (err) {
      const error = mapSmtpError(err);
      logger.debug({ recipient: recipients, code: error.code, retriable: error.retriable }, 'email not sent');
      throw error;
    } finally {
      inFlight.delete(attempt);
    }
  };

  return {
    send,
    async verify() {
      try {
        await transport.verify();
      } catch (err) {
        throw mapSmtpError(err);
      }
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...inFlight]);
        transport.close();
      })();
      return closing;
    },
  };
}

/**
 * Opens the TCP connection for nodemailer with Nagle's algorithm off, and hands it over connected
 * (`getSocket` answering `{ connection }`, the hook nodemailer offers for proxies); nodemailer then
 * speaks SMTP over it as usual, STARTTLS and the smtps handshake included.
 *
 * Why: nodemailer leaves Nagle on and writes each message as several small segments (the DATA
 * command, the body, the closing dot). Against a server that delays its ACKs (Linux: up to 40 ms)
 * every message then waits for nothing: bench/notify sent 106 emails/s over 5 pooled connections
 * with Nagle on and 515 with it off (docs/performance.md).
 */
function connectWithoutNagle(
  options: { host?: string; port?: number; secure?: boolean; connectionTimeout?: number },
  callback: (err: Error | null, socketOptions?: { connection: Socket }) => void,
): void {
  // nodemailer's own defaults for a URL without a port.
  const port = Number(options.port) || (options.secure ? 465 : 587);
  const socket = connect({ host: options.host ?? 'localhost', port, noDelay: true });
  const timer = setTimeout(() => {
    socket.destroy(Object.assign(new Error(`Connection timeout to ${options.host ?? 'localhost'}:${port}`), { code: 'ETIMEDOUT' }));
  }, options.connectionTimeout ?? DEFAULT_TIMEOUT_MS);
  const onError = (err: Error) => {
    clearTimeout(timer);
    callback(err);
  };
  socket.once('error', onError);
  socket.once('connect', () => {
    clearTimeout(timer);
    socket.removeListener('error', onError);
    callback(null, { connection: socket });
  });
}

// Network-level failures: the message may not have reached the server; sending again is right.
const RETRIABLE_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EPROTOCOL',
  // From the socket itself (connectWithoutNagle), before nodemailer wraps anything.
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * SMTP's own taxonomy: a 4xx reply is transient (mailbox busy, greylisting, rate limit), a 5xx
 * permanent (no such user, rejected content, bad credentials). Failures without a reply are
 * network trouble and transient, except nodemailer's own refusals (EENVELOPE without a reply:
 * no valid recipient; EAUTH without one: credentials missing), which no retry fixes.
 */
export function mapSmtpError(err: unknown): EmailError {
  const e = err as { code?: string; responseCode?: number; response?: string; message?: string; command?: string };
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const code = e.code ?? 'UNKNOWN';
  let retriable: boolean;
  if (responseCode !== undefined) retriable = responseCode >= 400 && responseCode < 500;
  else if (code === 'EENVELOPE' || code === 'EAUTH' || code === 'EMESSAGE') retriable = false;
  else retriable = RETRIABLE_CODES.has(code) || code === 'UNKNOWN';
  // Server replies often quote the recipient; the message is logged and stored, so addresses in
  // it are masked like everywhere else.
  const detail = maskAddresses(firstLine(e.response ?? e.message ?? String(err)));
  return new EmailError(`SMTP ${e.command ? `${e.command} ` : ''}failed (${code}${responseCode ? ` ${responseCode}` : ''}): ${detail}`, {
    code: `SMTP_${code}`,
    retriable,
    ...(responseCode === undefined ? {} : { responseCode })
  });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

function maskAddresses(text: string): string {
  return text.replace(/[^\s<>"',;:()]+@[^\s<>"',;:()]+/g, (address) => maskEmail(address) ?? '***');
}
