import { hostname } from 'node:os';
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';

/**
 * The SMTP connections of the mailer, opened by us rather than by nodemailer, and the dialogue on
 * them followed closely enough to tell whether a lost connection leaves a message in doubt.
 *
 * The interface is one function: `createSocketOpener(onInDoubt)` returns nodemailer's `getSocket`
 * hook, and calls `onInDoubt(messageId)` when a connection is lost after that message's bytes went
 * out and before the server's reply to them. The pure parts it is built from (the dialogue
 * tracker, the STARTTLS negotiation, the line reader) are exported for their unit tests
 * (test/unit/smtp-dialogue.test.ts); nothing else should need them.
 *
 * Why open the connection ourselves:
 * - Nagle's algorithm off. nodemailer leaves it on and writes each message as several small
 *   segments (the DATA command, the body, the closing dot). Against a server that delays its ACKs
 *   (Linux: up to 40 ms) every message then waits for nothing: bench/notify sent 106 emails/s over
 *   5 pooled connections with Nagle on and 515 with it off (docs/performance.md).
 * - Seeing the dialogue in the clear. Whenever the connection is to be encrypted, the TLS socket
 *   is made here, with the options nodemailer would use (SMTP_URL's `tls.*`, the servername for
 *   SNI), and nodemailer is handed the TLS socket as already secured; otherwise it would wrap the
 *   TCP socket itself, and the dialogue would only ever cross the socket we can watch encrypted.
 *   For smtps that is the handshake right after connecting. For STARTTLS it takes the plaintext
 *   start of the session too (see createStarttlsNegotiation): greeting, EHLO, STARTTLS, handshake.
 *   nodemailer then starts its session on the TLS socket from the greeting, which is replayed to
 *   it, and sends EHLO again, as RFC 3207 §4.2 requires after the handshake anyway. A server that
 *   turns out to offer no STARTTLS gets the plain socket and the greeting the same way, and two
 *   EHLOs (ours, then nodemailer's; RFC 5321 §4.1.4 allows it): one round trip more per
 *   connection, which a pool pays once per connection, not per message.
 */

/** What nodemailer passes to `getSocket`: its transport options (SMTP_URL's among them). */
export interface SocketRequest {
  readonly host?: string;
  readonly port?: number;
  readonly secure?: boolean;
  readonly servername?: string;
  readonly tls?: ConnectionOptions;
  readonly connectionTimeout?: number;
  readonly greetingTimeout?: number;
  readonly socketTimeout?: number;
  /** The name nodemailer introduces itself with in EHLO (SMTP_URL's `?name=`). */
  readonly name?: string;
  readonly requireTLS?: boolean;
  readonly ignoreTLS?: boolean;
  readonly opportunisticTLS?: boolean;
  readonly lmtp?: boolean;
}

/**
 * What `getSocket` hands back; nodemailer copies these keys over its options for this connection.
 * `secured` says the socket is TLS already; `secure` with it, that the session is encrypted, so
 * nodemailer does not ask for STARTTLS again; `ignoreTLS`, that STARTTLS was refused and
 * opportunisticTLS lets the session go on in the clear (nodemailer would otherwise ask again).
 */
export interface SocketHandover {
  readonly connection: Socket;
  readonly secured?: true;
  readonly secure?: true;
  readonly ignoreTLS?: true;
}

export type GetSocket = (request: SocketRequest, callback: (err: Error | null, handover?: SocketHandover) => void) => void;

// nodemailer's own defaults for what its options leave unset (the mailer sets all three).
const CONNECTION_TIMEOUT_MS = 2 * 60_000;
const GREETING_TIMEOUT_MS = 30_000;
const SOCKET_TIMEOUT_MS = 10 * 60_000;

/**
 * How much of a message the tracker reads while looking for its Message-ID. nodemailer writes the
 * custom headers, From, To and Subject before it; our headers take well under 2 KiB, and 64 KiB
 * still holds a To list of a thousand addresses.
 */
export const MAX_HEADER_BYTES = 64 * 1024;

/**
 * The longest reply the STARTTLS negotiation waits for: 128 lines of RFC 5321's 512-octet maximum
 * (§4.5.3.1.5). A greeting banner or an EHLO reply takes a few hundred bytes; a server that sends
 * more without ending its reply is not one to wait for.
 */
export const MAX_REPLY_BYTES = 64 * 1024;

/**
 * nodemailer's `getSocket` hook (the one it offers for proxies): opens the connection, negotiates
 * TLS where nodemailer would, and hands the socket over connected. Every connection handed over
 * is watched (watchSmtpDialogue), and `onInDoubt` called with the Message-ID of a message the
 * connection was lost in the middle of.
 */
export function createSocketOpener(onInDoubt: (messageId: string) => void): GetSocket {
  return (request, callback) => {
    openSocket(request, (err, opened) => {
      if (err || !opened) return callback(err ?? new Error('no socket'));
      // Listeners first (they pause the socket until nodemailer resumes it), then the greeting
      // put back where nodemailer will read it first.
      watchSmtpDialogue(opened.handover.connection, onInDoubt);
      if (opened.greeting) opened.handover.connection.unshift(opened.greeting);
      callback(null, opened.handover);
    });
  };
}

/** How the connection gets its TLS, decided from nodemailer's options before connecting. */
export type TlsPlan = 'implicit' | 'starttls' | 'none';

export function tlsPlanFor(request: SocketRequest): TlsPlan {
  // nodemailer's own rules: TLS from the start on port 465 unless `secure` says otherwise;
  // otherwise STARTTLS, unless told to ignore it. LMTP (LHLO) is left to nodemailer as before:
  // the mailer never speaks it.
  const port = Number(request.port) || (request.secure ? 465 : 587);
  if (request.secure ?? port === 465) return 'implicit';
  if (request.ignoreTLS || request.lmtp) return 'none';
  return 'starttls';
}

interface Opened {
  readonly handover: SocketHandover;
  /** The server's greeting, to replay to nodemailer: the session started before it got the socket. */
  readonly greeting?: Buffer;
}

function openSocket(request: SocketRequest, done: (err: Error | null, opened?: Opened) => void): void {
  const host = request.host ?? 'localhost';
  const port = Number(request.port) || (request.secure ? 465 : 587);
  const plan = tlsPlanFor(request);
  const socketTimeout = request.socketTimeout ?? SOCKET_TIMEOUT_MS;
  const tcp = connect({ host, port, noDelay: true });
  let tls: TLSSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let settled = false;

  const finish = (err: Error | null, opened?: Opened): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    tcp.removeListener('error', onError);
    tcp.removeListener('data', onData);
    tcp.removeListener('end', onClosed);
    tcp.removeListener('close', onClosed);
    tls?.removeListener('error', onTlsError);
    if (err) {
      // This attempt is over: nothing is left to hear a late error from its sockets.
      for (const s of [tcp, tls]) s?.on('error', () => undefined).destroy();
      return done(err);
    }
    done(null, opened);
  };
  /** Each step has its own deadline, as nodemailer gives each step its own timeout. */
  const arm = (ms: number, error: () => Error): void => {
    clearTimeout(timer);
    timer = setTimeout(() => finish(error()), ms);
  };
  const onError = (err: Error): void => finish(err);
  // A failed TLS handshake (bad certificate, reset) keeps the label nodemailer gives it when it
  // makes the handshake itself, so it is classified as before.
  const onTlsError = (err: Error): void => finish(Object.assign(err, { code: 'ESOCKET', command: 'CONN' }));
  const onClosed = (): void => finish(smtpError('Connection closed unexpectedly', 'ECONNECTION', undefined, 'CONN'));

  /** The handshake over the TCP socket, with what nodemailer's _upgradeConnection passes. */
  const upgrade = (then: (socket: TLSSocket) => void): void => {
    // The `tls` options over the host, and the host as servername (SNI) unless it is an IP
    // address or `servername` is set.
    const tlsOptions: ConnectionOptions = { socket: tcp, host, ...request.tls };
    const servername = request.servername ?? (isIP(host) ? undefined : host);
    if (servername && !tlsOptions.servername) tlsOptions.servername = servername;
    try {
      tls = connectTls(tlsOptions);
    } catch (err) {
      return finish(smtpError(`Error initiating TLS - ${(err as Error).message}`, 'ETLS', undefined, plan === 'implicit' ? 'CONN' : 'STARTTLS'));
    }
    tcp.removeListener('error', onError);
    // Failures surface on the TLS socket, which nodemailer listens to; should the TCP socket
    // under it report one of its own, it ends the TLS socket with it rather than go unheard.
    const socket = tls;
    tcp.on('error', (err) => socket.destroy(err));
    socket.once('error', onTlsError);
    socket.once('secureConnect', () => then(socket));
  };

  const negotiation = createStarttlsNegotiation({ name: request.name ?? defaultEhloName(hostname()), requireTLS: request.requireTLS, opportunisticTLS: request.opportunisticTLS });
  function onData(chunk: Buffer): void {
    for (const step of negotiation.read(chunk)) {
      if (step.kind === 'send') {
        arm(socketTimeout, () => smtpError('Timeout', 'ETIMEDOUT', undefined, 'CONN'));
        tcp.write(step.command);
        continue;
      }
      if (step.kind === 'fail') return finish(step.error);
      if (step.kind === 'hand-over') {
        return finish(null, { handover: step.ignoreTLS ? { connection: tcp, ignoreTLS: true } : { connection: tcp }, greeting: step.greeting });
      }
      // The server agreed to STARTTLS: from here the TCP socket carries only the handshake.
      // Whatever else it sent in the clear after its reply is dropped with the negotiation
      // (RFC 3207 §4.2: nothing learnt before TLS is kept).
      tcp.removeListener('data', onData);
      tcp.removeListener('end', onClosed);
      tcp.removeListener('close', onClosed);
      arm(socketTimeout, () => smtpError('Timeout', 'ETIMEDOUT', undefined, 'CONN'));
      return upgrade((socket) => finish(null, { handover: { connection: socket, secured: true, secure: true }, greeting: step.greeting }));
    }
  }

  // The TCP connection, and for smtps the handshake with it, as nodemailer's own
  // connectionTimeout covers them when it makes the connection itself.
  arm(request.connectionTimeout ?? CONNECTION_TIMEOUT_MS, () => smtpError(`Connection timeout to ${host}:${port}`, 'ETIMEDOUT'));
  tcp.once('error', onError);
  tcp.once('connect', () => {
    if (plan === 'none') return finish(null, { handover: { connection: tcp } });
    if (plan === 'implicit') return upgrade((socket) => finish(null, { handover: { connection: socket, secured: true } }));
    arm(request.greetingTimeout ?? GREETING_TIMEOUT_MS, () => smtpError('Greeting never received', 'ETIMEDOUT', undefined, 'CONN'));
    tcp.on('data', onData);
    tcp.once('end', onClosed);
    tcp.once('close', onClosed);
  });
}

/** An error as nodemailer's SMTPConnection formats them, so the mailer classifies ours alike. */
function smtpError(message: string, code: string, response?: string, command?: string): Error {
  const err = new Error(response ? `${message}: ${response}` : message) as Error & Record<string, unknown>;
  err.code = code;
  if (response) {
    err.response = response;
    const responseCode = Number(/^\d+/.exec(response)?.[0]);
    if (responseCode) err.responseCode = responseCode;
  }
  if (command) err.command = command;
  return err;
}

/** The name nodemailer says EHLO with when none is set: the machine's, if qualified, else its address. */
export function defaultEhloName(machine: string): string {
  const name = machine.includes('.') ? machine : '[127.0.0.1]';
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) ? `[${name}]` : name;
}

/** What the STARTTLS negotiation does next, given what the server said. */
export type NegotiationStep =
  /** Write this command. */
  | { readonly kind: 'send'; readonly command: string }
  /** The server agreed to STARTTLS: make the TLS handshake, then replay the greeting inside. */
  | { readonly kind: 'upgrade'; readonly greeting: Buffer }
  /**
   * No TLS for this session, as nodemailer would decide: hand the plain socket over with the
   * greeting replayed. nodemailer sends its own EHLO (a second one, which RFC 5321 §4.1.4 allows)
   * and goes on as if it had opened the connection itself.
   */
  | { readonly kind: 'hand-over'; readonly greeting: Buffer; readonly ignoreTLS: boolean }
  /** What nodemailer would have failed the connection with. */
  | { readonly kind: 'fail'; readonly error: Error };

/**
 * The plaintext start of a session that may turn to TLS (RFC 3207), deciding at each reply what
 * nodemailer's SMTPConnection would (_actionGreeting, _actionEHLO, _actionSTARTTLS):
 * - greeting: anything but 220 fails the connection (EPROTOCOL, with the reply);
 * - EHLO: 421 fails it; another refusal fails it under requireTLS, and otherwise leaves the
 *   session plain (nodemailer falls back to HELO); a 2xx that offers STARTTLS, or any 2xx under
 *   requireTLS, asks for STARTTLS; a 2xx without it leaves the session plain;
 * - STARTTLS: 2xx upgrades; a refusal fails the connection (ETLS, with the reply) unless
 *   opportunisticTLS lets the session go on in the clear.
 * Pure: bytes in, steps out; the socket work is openSocket's.
 */
export function createStarttlsNegotiation(options: { name: string; requireTLS?: boolean | undefined; opportunisticTLS?: boolean | undefined }): { read(chunk: Buffer): NegotiationStep[] } {
  let stage: 'greeting' | 'ehlo' | 'starttls' | 'done' = 'greeting';
  let greeting = Buffer.alloc(0);
  const replies = createReplyReader(MAX_REPLY_BYTES);

  const onReply = (reply: Reply): NegotiationStep => {
    const { text } = reply;
    if (stage === 'greeting') {
      if (!text.startsWith('220')) return { kind: 'fail', error: smtpError(`Invalid greeting. response=${text}`, 'EPROTOCOL', text, 'CONN') };
      greeting = Buffer.from(reply.raw, 'latin1');
      stage = 'ehlo';
      return { kind: 'send', command: `EHLO ${options.name}\r\n` };
    }
    if (stage === 'ehlo') {
      if (text.startsWith('421')) return { kind: 'fail', error: smtpError(`Server terminates connection. response=${text}`, 'ECONNECTION', text, 'EHLO') };
      if (!text.startsWith('2')) {
        if (options.requireTLS) return { kind: 'fail', error: smtpError(`EHLO failed but HELO does not support required STARTTLS. response=${text}`, 'ECONNECTION', text, 'EHLO') };
        return { kind: 'hand-over', greeting, ignoreTLS: false };
      }
      if (!/[ -]STARTTLS\b/im.test(text) && !options.requireTLS) return { kind: 'hand-over', greeting, ignoreTLS: false };
      stage = 'starttls';
      return { kind: 'send', command: 'STARTTLS\r\n' };
    }
    if (text.startsWith('2')) return { kind: 'upgrade', greeting };
    if (options.opportunisticTLS) return { kind: 'hand-over', greeting, ignoreTLS: true };
    return { kind: 'fail', error: smtpError('Error upgrading connection with STARTTLS', 'ETLS', text, 'STARTTLS') };
  };

  return {
    read(chunk) {
      if (stage === 'done') return [];
      const steps: NegotiationStep[] = [];
      const read = replies.read(chunk);
      for (const reply of read.replies) {
        const step = onReply(reply);
        steps.push(step);
        if (step.kind !== 'send') {
          stage = 'done';
          return steps;
        }
      }
      if (read.overflow) {
        stage = 'done';
        steps.push({ kind: 'fail', error: smtpError(`Reply longer than ${MAX_REPLY_BYTES} bytes`, 'EPROTOCOL', undefined, 'CONN') });
      }
      return steps;
    },
  };
}

/** A complete server reply: `text` as nodemailer sees it (lines joined by \n), `raw` as it came (latin1). */
export interface Reply {
  readonly text: string;
  readonly raw: string;
}

/**
 * Complete replies out of the bytes a server sends, however they are split. A reply's lines all
 * read `NNN-text` but its last (nodemailer's rule, /^\d+-/); empty lines between replies are
 * skipped. At most `max` bytes of an unfinished reply are held: past that, `overflow`.
 */
export function createReplyReader(max: number): { read(chunk: Buffer): { replies: Reply[]; overflow: boolean } } {
  let pending = '';
  return {
    read(chunk) {
      pending += chunk.toString('latin1');
      const replies: Reply[] = [];
      // Where the reply being read starts, and where its next line does.
      let start = 0;
      let next = 0;
      for (;;) {
        const newline = pending.indexOf('\n', next);
        if (newline === -1) break;
        const line = pending.slice(next, newline).replace(/\r$/, '');
        const first = next === start;
        next = newline + 1;
        if (first && line.trim() === '') start = next;
        else if (!/^\d+-/.test(line)) {
          const raw = pending.slice(start, next);
          replies.push({ text: raw.replace(/\r?\n$/, '').replace(/\r\n/g, '\n'), raw });
          start = next;
        }
      }
      pending = pending.slice(start);
      if (pending.length <= max) return { replies, overflow: false };
      pending = '';
      return { replies, overflow: true };
    },
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
 * - `blind`: the server agreed to a STARTTLS that nodemailer asked for on this socket itself (only
 *   where createSocketOpener leaves STARTTLS to it: LMTP, or a server that offers STARTTLS only on
 *   the second EHLO); the rest of the dialogue runs inside a TLS socket this view never sees, so a
 *   failure is reported as before, retriable.
 * - `over`: the socket timed out, failed or closed.
 */
type DialoguePhase = 'envelope' | 'go-ahead' | 'message' | 'blind' | 'over';

export interface DialogueTracker {
  /** Bytes the server sent. */
  fromServer(chunk: Buffer): void;
  /** Bytes the client wrote. */
  fromClient(chunk: Buffer): void;
  /** The connection timed out, failed, ended or closed: the Message-ID it leaves in doubt, once. */
  lost(): string | undefined;
  /** What the tracker holds right now (open line heads, message header read so far): for tests of its bounds. */
  held(): string;
}

/**
 * Follows one connection's dialogue (what the client writes, what the server answers) and tells,
 * when the connection is lost, whether a message was out and unanswered, by the Message-ID read
 * from its header as it went out.
 *
 * The window is counted from the first message byte, not from the final dot, although a server
 * cannot accept a message it has not seen the end of: our messages go out in one burst right
 * after the 354, and telling the dot apart would lean on how nodemailer splits its writes.
 *
 * Kept small: at most 4 bytes of a server line, 9 of a client command line, and the message's
 * first MAX_HEADER_BYTES until its Message-ID is found; nothing else is buffered, and no command
 * line (AUTH carries the password) is kept past its end.
 */
export function createDialogueTracker(): DialogueTracker {
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

  return {
    fromServer(chunk) {
      if (phase === 'blind' || phase === 'over') return;
      serverLine = eachLine(chunk, serverLine, 4, onServerLine);
    },
    fromClient(chunk) {
      if (phase === 'envelope') {
        clientLine = eachLine(chunk, clientLine, 9, onClientLine);
      } else if (phase === 'go-ahead' || (phase === 'message' && !headerRead)) {
        phase = 'message';
        readHeader(chunk.toString('latin1', 0, MAX_HEADER_BYTES - header.length));
      }
    },
    lost() {
      // Without a Message-ID read, the message's header had not all gone out: the server cannot
      // have accepted it.
      const left = phase === 'message' ? messageId : undefined;
      phase = 'over';
      header = '';
      return left;
    },
    held: () => serverLine + clientLine + header,
  };
}

/**
 * Binds a tracker to a socket: nodemailer reports every timeout or close as `CONN`, whatever the
 * connection was doing, so the error alone cannot say whether the message had gone out; the
 * socket can. Its listeners are attached before nodemailer's, so the mark is made before
 * nodemailer fails the send, and a reply is seen before nodemailer acts on it.
 */
function watchSmtpDialogue(socket: Socket, onInDoubt: (messageId: string) => void): void {
  const tracker = createDialogueTracker();
  socket.on('data', (chunk: Buffer) => tracker.fromServer(chunk));

  // Writes are seen by wrapping this socket's own write(): nodemailer writes commands with it and
  // pipes the message into it.
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  (socket as unknown as { write: (...args: unknown[]) => boolean }).write = (...args) => {
    tracker.fromClient(asBuffer(args[0], args[1]));
    return write(...args);
  };

  const lost = (): void => {
    const messageId = tracker.lost();
    if (messageId !== undefined) onInDoubt(messageId);
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
export function eachLine(chunk: Buffer, open: string, max: number, onLine: (head: string) => void): string {
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
