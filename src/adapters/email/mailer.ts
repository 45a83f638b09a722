import { createHash, randomUUID } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import shared from 'nodemailer/lib/shared/index.js';
import { dkimKeyBits, DKIM_RECOMMENDED_RSA_BITS } from '../../config/dkim.js';
import { senderAddressDomain } from '../../domain/email-address.js';
import { RefundNotifierError } from '../../domain/errors.js';
import { maskEmail, type Logger } from '../log/logger.js';
import { createSocketOpener } from './smtp-dialogue.js';

/**
 * Sending email over SMTP with nodemailer. The transport is pooled by default: a refund backlog
 * sends thousands of emails, and a fresh TCP + EHLO + AUTH per message costs more than the message
 * (bench/notify measures it; docs/performance.md). Each send either resolves or throws an
 * EmailError whose `retriable` flag tells the outbox whether to try again, and whose `inDoubt` flag
 * says the server may have the email although the send failed (see smtp-dialogue.ts).
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
   * Open the connection ourselves, with Nagle's algorithm off (see smtp-dialogue.ts). Default
   * true; false leaves the socket to nodemailer (used by bench/notify to measure the difference),
   * and with it the mailer cannot see the SMTP dialogue: a connection lost mid-message is then
   * reported as retriable, never as in doubt.
   */
  readonly noDelay?: boolean;
  /** EMAIL_DKIM_*: sign every email (docs/notifications.md, "Deliverability"); unsigned without. */
  readonly dkim?: DkimSettings;
}

export interface DkimSettings {
  /** EMAIL_DKIM_DOMAIN: the signature's d=, aligned with the From domain (checked at startup). */
  readonly domain: string;
  /** EMAIL_DKIM_SELECTOR: the signature's s=. */
  readonly selector: string;
  /** EMAIL_DKIM_PRIVATE_KEY: PEM RSA. */
  readonly privateKey: string;
}

/**
 * On every email. `Auto-Submitted: auto-generated` (RFC 3834 §5) says no person wrote it:
 * well-behaved autoresponders (vacation replies, "I have a new address") stay silent, and
 * mailbox filters can tell it from a person's mail. Exchange and Outlook ignore it and read
 * `X-Auto-Response-Suppress` instead: OOF and AutoReply silence out-of-office and rule-based
 * replies. Not `All`, which would also suppress non-delivery reports: those bounce to our
 * sender's mailbox and are the only word anyone gets of a customer address that no longer works.
 */
export const AUTOMATED_HEADERS: Readonly<Record<string, string>> = {
  'Auto-Submitted': 'auto-generated',
  'X-Auto-Response-Suppress': 'OOF, AutoReply',
};

export interface OutgoingEmail {
  readonly to: string | readonly string[];
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** The sender of this email; MailerSettings.from (EMAIL_FROM) when absent. Validated at startup. */
  readonly from?: string;
  /** Reply-To; none when absent. */
  readonly replyTo?: string;
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

  /**
   * `inDoubt`: the connection was lost after the message went out and before the server replied
   * to it: the server may have queued the email. Always with `retriable: false` and code
   * `SMTP_IN_DOUBT`, as sending again could email the customer twice; false for every other failure.
   */
  constructor(message: string, options: { code: string; retriable: boolean; responseCode?: number; inDoubt?: boolean }) {
    super(message, { code: options.code, retriable: options.retriable, inDoubt: options.inDoubt ?? false });
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

/** For an email sent without one: a random id, so that every send can be told apart on the wire. */
function randomMessageId(from: string): string {
  return `<${randomUUID()}@${senderDomain(from)}>`;
}

/** A Message-ID as nodemailer writes it: on one line, in angle brackets (added if missing). */
function asWritten(messageId: string): string {
  const id = messageId.replace(/\r?\n|\r/g, ' ');
  return `${id.startsWith('<') ? '' : '<'}${id}${id.endsWith('>') ? '' : '>'}`;
}

function senderDomain(from: string): string {
  const domain = senderAddressDomain(from);
  return /^[A-Za-z0-9.-]+$/.test(domain) && domain.includes('.') ? domain : 'refund-notifier.invalid';
}

export function createMailer(settings: MailerSettings, deps: { logger: Logger }): Mailer {
  const logger = deps.logger.child({ component: 'email' });
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pool = settings.pool ?? true;
  // The Message-IDs of the sends in flight (a count each, should one id be sent twice at once),
  // and those among them whose connection was lost mid-message. An id enters `inDoubt` only while
  // its send is in flight and leaves it when that send settles, so neither grows past the sends
  // in flight.
  const sending = new Map<string, number>();
  const inDoubt = new Set<string>();
  const onInDoubt = (messageId: string): void => {
    if (sending.has(messageId)) inDoubt.add(messageId);
  };
  // The URL is parsed here rather than passed as `url`: given a `url`, createTransport builds
  // the transport from the URL alone and silently drops every other option (pool, timeouts).
  // nodemailer's own parser keeps SMTP_URL's query options (?requireTLS=true, ?tls.servername=…),
  // which reach the socket opener with the rest.
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
    ...(settings.noDelay === false ? {} : { getSocket: createSocketOpener(onInDoubt) }),
    // nodemailer signs each message once it is built (relaxed/relaxed, rsa-sha256, the From,
    // Subject, Date, Message-ID, To and MIME headers among those it covers).
    ...(settings.dkim ? { dkim: { domainName: settings.dkim.domain, keySelector: settings.dkim.selector, privateKey: settings.dkim.privateKey } } : {}),
  } as Parameters<typeof nodemailer.createTransport>[0]);
  if (settings.dkim) {
    const bits = dkimKeyBits(settings.dkim.privateKey);
    logger.info({ dkimDomain: settings.dkim.domain, dkimSelector: settings.dkim.selector, keyBits: bits }, 'emails are DKIM-signed');
    if (bits < DKIM_RECOMMENDED_RSA_BITS) {
      logger.warn({ keyBits: bits }, `EMAIL_DKIM_PRIVATE_KEY is a ${bits}-bit RSA key: ${DKIM_RECOMMENDED_RSA_BITS} bits is recommended (RFC 8301)`);
    }
  }

  const inFlight = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  const send = async (email: OutgoingEmail): Promise<{ messageId: string }> => {
    if (closing) throw new EmailError('the mailer is closed', { code: 'EMAIL_CLOSED', retriable: true });
    const to = typeof email.to === 'string' ? [email.to] : [...email.to];
    const recipients = to.map((a) => maskEmail(a)).join(',');
    // Chosen here rather than by nodemailer, so that a connection lost mid-message can be traced
    // back to this send by the Message-ID it carried.
    const from = email.from ?? settings.from;
    const messageId = asWritten(email.messageId ?? randomMessageId(from));
    const attempt = transport.sendMail({
      // Both come validated from the configuration (one line, a checked address), and nodemailer
      // encodes the display names: no value can add a header.
      from,
      ...(email.replyTo !== undefined ? { replyTo: email.replyTo } : {}),
      to,
      subject: email.subject,
      html: email.html,
      text: email.text,
      messageId,
      headers: { ...AUTOMATED_HEADERS, ...email.headers },
      // Nothing we send reads files or fetches URLs; refusing both keeps a template edit or an
      // odd value from turning the mailer into a file or network reader.
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    inFlight.add(attempt);
    sending.set(messageId, (sending.get(messageId) ?? 0) + 1);
    try {
      const info = (await attempt) as { messageId: string };
      logger.debug({ recipient: recipients, messageId: info.messageId }, 'email sent');
      return { messageId: info.messageId };
    } catch (err) {
      // A reply code settles it even when the connection then dropped (nodemailer reports a reply
      // the server sent without its line end before closing): the server said what it did.
      const lostMidMessage = inDoubt.delete(messageId) && (err as { responseCode?: unknown }).responseCode === undefined;
      const error = lostMidMessage ? inDoubtError(err, messageId) : mapSmtpError(err);
      logger.debug({ recipient: recipients, messageId, code: error.code, retriable: error.retriable, inDoubt: error.inDoubt }, 'email not sent');
      throw error;
    } finally {
      inFlight.delete(attempt);
      const left = (sending.get(messageId) ?? 1) - 1;
      if (left > 0) {
        sending.set(messageId, left);
      } else {
        sending.delete(messageId);
        inDoubt.delete(messageId);
      }
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

/** A send whose connection was lost while the server held the message unanswered. */
function inDoubtError(err: unknown, messageId: string): EmailError {
  const code = (err as { code?: string }).code ?? 'UNKNOWN';
  return new EmailError(
    `SMTP connection lost (${code}) after the message went out and before the server replied to it: it may or may not have been accepted, so it is not resent (Message-ID ${messageId})`,
    { code: 'SMTP_IN_DOUBT', retriable: false, inDoubt: true },
  );
}

// Network-level failures: the message may not have reached the server; sending again is right.
// (Unless the connection was lost with the message out and unanswered: send() reports that as in
// doubt before it gets here.)
const RETRIABLE_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EPROTOCOL',
  // From the socket itself (smtp-dialogue.ts's opener), before nodemailer wraps anything.
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
    responseCode
  });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

function maskAddresses(text: string): string {
  return text.replace(/[^\s<>"',;:()]+@[^\s<>"',;:()]+/g, (address) => maskEmail(address) ?? '***');
}
