import { createHash, randomUUID } from 'node:crypto';
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import nodemailer, { type Transporter } from 'nodemailer';
import shared from 'nodemailer/lib/shared/index.js';
import { RefundNotifierError } from '../../domain/errors.js';
import { maskEmail, type Logger } from '../log/logger.js';

/**
 * Sending email over SMTP with nodemailer. The transport is pooled by default: a refund backlog
 * sends thousands of emails, and a fresh TCP + EHLO + AUTH per message costs more than the message
 * (bench/notify measures it; docs/performance.md). Each send either resolves or throws an
 * EmailError whose `retriable` flag tells the outbox whether to try again, and whose `inDoubt` flag
 * says the server may have the email although the send failed (see watchSmtpDialogue).
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
   * Open the TCP connection with Nagle's algorithm off (see createSocketOpener). Default true;
   * false leaves the socket to nodemailer (used by bench/notify to measure the difference), and
   * with it the mailer cannot see the SMTP dialogue: a connection lost mid-message is then
   * reported as retriable, never as in doubt (see watchSmtpDialogue).
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
  /**
   * The connection was lost after the message went out and before the server replied to it: the
   * server may have queued the email. Always with `retriable: false` and code `SMTP_IN_DOUBT`, as
   * sending again could email the customer twice; false for every other failure.
   */
  readonly inDoubt: boolean;

  constructor(message: string, options: { code: string; retriable: boolean; responseCode?: number; inDoubt?: boolean }) {
    super(message, { code: options.code, retriable: options.retriable });
    this.name = 'EmailError';
    if (options.responseCode !== undefined) this.responseCode = options.responseCode;
    this.inDoubt = options.inDoubt ?? false;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CONNECTIONS = 5;
/**
 * How much of a message the mailer reads while looking for its Message-ID. nodemailer writes the
 * custom headers, From, To and Subject before it; our headers take well under 2 KiB, and 64 KiB
 * still holds a To list of a thousand addresses.
 */
const MAX_HEADER_BYTES = 64 * 1024;

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
  const address = /<([^>]+)>\s*$/.exec(from)?.[1] ?? from;
  const domain = address.slice(address.lastIndexOf('@') + 1).trim();
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
  function watch(socket: Socket): void {
    watchSmtpDialogue(socket, (messageId) => {
      if (sending.has(messageId)) inDoubt.add(messageId);
    });
  }
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
    ...(settings.noDelay === false ? {} : { getSocket: createSocketOpener(watch) }),
  } as Parameters<typeof nodemailer.createTransport>[0]);

  const inFlight = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  const send = async (email: OutgoingEmail): Promise<{ messageId: string }> => {
    if (closing) throw new EmailError('the mailer is closed', { code: 'EMAIL_CLOSED', retriable: true });
    const to = typeof email.to === 'string' ? [email.to] : [...email.to];
    const recipients = to.map((a) => maskEmail(a)).join(',');
    // Chosen here rather than by nodemailer, so that a connection lost mid-message can be traced
    // back to this send by the Message-ID it carried.
    const messageId = asWritten(email.messageId ?? randomMessageId(settings.from));
    const attempt = transport.sendMail({
      from: settings.from,
      to,
      subject: email.subject,
      html: email.html,
      text: email.text,
      messageId,
      ...(email.headers === undefined ? {} : { headers: { ...email.headers } }),
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

/** What nodemailer passes to `getSocket`: its transport options (SMTP_URL's among them). */
interface SocketRequest {
  readonly host?: string;
  readonly port?: number;
  readonly secure?: boolean;
  readonly servername?: string;
  readonly tls?: ConnectionOptions;
  readonly connectionTimeout?: number;
}

/**
 * nodemailer's `getSocket` hook (the one it offers for proxies): opens the connection, hands it
 * over connected (`{ connection }`), and nodemailer speaks SMTP over it as usual, STARTTLS
 * included. Before handing it over, `watch` is given the socket the SMTP dialogue will travel on.
 *
 * Why open it ourselves, twice over:
 * - Nagle's algorithm off. nodemailer leaves it on and writes each message as several small
 *   segments (the DATA command, the body, the closing dot). Against a server that delays its ACKs
 *   (Linux: up to 40 ms) every message then waits for nothing: bench/notify sent 106 emails/s over
 *   5 pooled connections with Nagle on and 515 with it off (docs/performance.md).
 * - Seeing the dialogue (watchSmtpDialogue). For smtps (TLS from the first byte) the TLS handshake
 *   is done here, with the options nodemailer would use (SMTP_URL's `tls.*`, the servername for
 *   SNI), and nodemailer gets the TLS socket as `secured`: otherwise it would wrap the TCP socket
 *   itself, and the SMTP dialogue would only ever cross that TCP socket encrypted.
 */
function createSocketOpener(watch: (socket: Socket) => void) {
  return (options: SocketRequest, callback: (err: Error | null, socketOptions?: { connection: Socket; secured?: boolean }) => void): void => {
    const host = options.host ?? 'localhost';
    // nodemailer's own defaults: 465 without a port for smtps, 587 otherwise, and TLS from the
    // start on port 465 unless `secure` says otherwise.
    const port = Number(options.port) || (options.secure ? 465 : 587);
    const implicitTls = options.secure ?? port === 465;
    const tcp = connect({ host, port, noDelay: true });
    let socket: Socket = tcp;
    let settled = false;
    const done = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tcp.removeListener('error', onError);
      socket.removeListener('error', onError);
      if (err) {
        // This attempt is over: nothing is left to hear a late error from its sockets.
        for (const s of [tcp, socket]) s.on('error', () => undefined).destroy();
        callback(err);
        return;
      }
      watch(socket);
      callback(null, implicitTls ? { connection: socket, secured: true } : { connection: socket });
    };
    // A failed TLS handshake (bad certificate, reset) keeps the label nodemailer gave it when it
    // made the handshake itself, so it is classified as before.
    const onError = (err: Error): void => done(socket === tcp ? err : Object.assign(err, { code: 'ESOCKET', command: 'CONN' }));
    // Covers the TCP connection and, for smtps, the TLS handshake, as nodemailer's own
    // connectionTimeout does when it makes the connection itself.
    const timer = setTimeout(() => {
      done(Object.assign(new Error(`Connection timeout to ${host}:${port}`), { code: 'ETIMEDOUT' }));
    }, options.connectionTimeout ?? DEFAULT_TIMEOUT_MS);
    tcp.once('error', onError);
    tcp.once('connect', () => {
      if (!implicitTls) return done(null);
      // What nodemailer's _upgradeConnection passes: the `tls` options over the host, and the
      // host as servername (SNI) unless it is an IP address or `servername` is set.
      const tlsOptions: ConnectionOptions = { socket: tcp, host, ...options.tls };
      const servername = options.servername ?? (isIP(host) ? undefined : host);
      if (servername && !tlsOptions.servername) tlsOptions.servername = servername;
      try {
        socket = connectTls(tlsOptions);
      } catch (err) {
        return done(Object.assign(new Error(`Error initiating TLS - ${(err as Error).message}`), { code: 'ETLS' }));
      }
      tcp.removeListener('error', onError);
      // Failures surface on the TLS socket, which nodemailer listens to; should the TCP socket
      // under it report one of its own, it ends the TLS socket with it rather than go unheard.
      const tls = socket;
      tcp.on('error', (err) => tls.destroy(err));
      socket.once('error', onError);
      socket.once('secureConnect', () => done(null));
    });
  };
}

/**
 * Where one connection's SMTP dialogue stands, as seen on its socket (RFC 5321 §3.3, §4.1.1.4):
 * - `envelope`: greeting, EHLO, AUTH, MAIL, RCPT, RSET, and DATA until the server lets the
 *   message in. A failure here leaves nothing on the server: sending again is safe.
 * - `go-ahead`: the server answered DATA with 354 (or, as nodemailer allows, 2xx); nothing of the
 *   message is written yet, so a failure is still safe to retry.
 * - `message`: message bytes went out and the server's reply to them has not arrived. The server
 *   may have queued the message: a failure here is *in doubt*.
 * - `blind`: the server agreed to STARTTLS; the rest of the dialogue runs inside TLS on a socket
 *   nodemailer makes from this one, which this view never sees (see the limitation below).
 * - `over`: the socket timed out, failed or closed.
 */
type DialoguePhase = 'envelope' | 'go-ahead' | 'message' | 'blind' | 'over';

/**
 * Tells which sends a lost connection leaves in doubt. nodemailer reports every timeout or close
 * as `CONN`, whatever the connection was doing, so the error alone cannot say whether the message
 * had gone out. The socket can: this follows the dialogue on it (what the client writes, what the
 * server answers) and, when the socket times out, fails, ends or closes while a message is out
 * and unanswered, calls `onInDoubt` with that message's Message-ID, read from its header as it
 * went out. Its listeners are attached before nodemailer's, so the mark is made before nodemailer
 * fails the send; a reply is seen before nodemailer acts on it.
 *
 * The window is counted from the first message byte, not from the final dot, although a server
 * cannot accept a message it has not seen the end of: our messages go out in one burst right
 * after the 354, and telling the dot apart would lean on how nodemailer splits its writes.
 *
 * Kept small: per socket, at most 4 bytes of a server line, 9 of a client command line, and the
 * message's first MAX_HEADER_BYTES until its Message-ID is found; nothing else is buffered, and
 * no command line (AUTH carries the password) is kept past its end.
 *
 * Limitation: after STARTTLS the dialogue is encrypted on this socket (smtps is not affected: its
 * TLS socket is made in createSocketOpener and watched in the clear). A STARTTLS connection lost
 * after the upgrade is reported as before, retriable: it may have been lost at any step, and most
 * steps precede the message, so marking every such failure in doubt would drop emails that were
 * never sent to spare the rarer duplicate.
 */
function watchSmtpDialogue(socket: Socket, onInDoubt: (messageId: string) => void): void {
  let phase: DialoguePhase = 'envelope';
  let serverLine = '';
  let clientLine = '';
  // The command whose reply moves the dialogue on, once sent.
  let awaiting: 'DATA' | 'STARTTLS' | undefined;
  let header = '';
  let messageId: string | undefined;
  let headerRead = false;

  const onServerLine = (head: string): void => {
    // A reply's last line is `NNN text` (or just `NNN`); `NNN-text` continues a multi-line one.
    const reply = /^(\d)\d\d(?!-)/.exec(head);
    if (!reply) return;
    if (phase === 'envelope') {
      // The first final reply after DATA or STARTTLS answers it: nodemailer writes either only
      // once every earlier command is answered, even when pipelining. DATA lets the message in
      // with a 3xx or, as nodemailer also accepts, a 2xx.
      if (awaiting === 'DATA' && (reply[1] === '2' || reply[1] === '3')) phase = 'go-ahead';
      else if (awaiting === 'STARTTLS' && reply[1] === '2') phase = 'blind';
      awaiting = undefined;
    } else if (phase === 'go-ahead' || phase === 'message') {
      // The reply to the message, 2xx, 4xx or 5xx: whatever it says, it is not in doubt.
      phase = 'envelope';
      header = '';
      messageId = undefined;
      headerRead = false;
    }
  };

  const onClientLine = (head: string): void => {
    const command = head.replace(/\r$/, '').toUpperCase();
    if (command === 'DATA' || command === 'STARTTLS') awaiting = command;
  };

  const readHeader = (text: string): void => {
    header += text.slice(0, MAX_HEADER_BYTES - header.length);
    const end = header.search(/\r?\n\r?\n/);
    // Headers may be folded (nodemailer folds a long Message-ID onto the next line); the id is
    // complete once its `>` is there.
    const block = (end === -1 ? header : header.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
    const found = /(?:^|\n)Message-ID:[ \t]*(<[^<>\r\n]+>)/i.exec(block)?.[1];
    if (found !== undefined || end !== -1 || header.length >= MAX_HEADER_BYTES) {
      messageId = found;
      headerRead = true;
      header = '';
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (phase === 'blind' || phase === 'over') return;
    serverLine = eachLine(chunk, serverLine, 4, onServerLine);
  });

  // Writes are seen by wrapping this socket's own write(): nodemailer writes commands with it and
  // pipes the message into it.
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  (socket as unknown as { write: (...args: unknown[]) => boolean }).write = (...args) => {
    if (phase === 'envelope') {
      clientLine = eachLine(asBuffer(args[0], args[1]), clientLine, 9, onClientLine);
    } else if (phase === 'go-ahead' || (phase === 'message' && !headerRead)) {
      phase = 'message';
      readHeader(asBuffer(args[0], args[1]).toString('latin1', 0, MAX_HEADER_BYTES - header.length));
    }
    return write(...args);
  };

  const lost = (): void => {
    if (phase === 'message' && messageId !== undefined) onInDoubt(messageId);
    // Without a Message-ID read, the message's header had not all gone out: the server cannot
    // have accepted it.
    phase = 'over';
    header = '';
  };
  socket.on('timeout', lost);
  socket.on('error', lost);
  socket.on('end', lost);
  socket.on('close', lost);
  // The 'data' listener above must not start the flow before nodemailer listens too, or the
  // greeting could reach only this one. Paused here, the socket is resumed by nodemailer once its
  // own listener is attached (SMTPConnection._onConnect).
  socket.pause();
}

/** Calls `onLine` with the first `max` bytes of each line ending in `chunk`; returns the open line's. */
function eachLine(chunk: Buffer, open: string, max: number, onLine: (head: string) => void): string {
  let head = open;
  let start = 0;
  for (;;) {
    const newline = chunk.indexOf(0x0a, start);
    const end = newline === -1 ? chunk.length : newline;
    if (head.length < max) head += chunk.toString('latin1', start, Math.min(end, start + max - head.length));
    if (newline === -1) return head;
    onLine(head);
    head = '';
    start = newline + 1;
  }
}

function asBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.alloc(0);
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
  // From the socket itself (createSocketOpener), before nodemailer wraps anything.
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
