/**
 * A real SMTP server (the `smtp-server` package) that keeps what it receives: the tests send
 * through nodemailer to it and check the parsed messages (mailparser), the demo saves each one as
 * .eml and .html for a human to open, and bench/notify counts them.
 *
 * Plain SMTP on 127.0.0.1 only: no TLS (STARTTLS is disabled so nodemailer does not try it),
 * AUTH optional unless credentials are given (then AUTH over plain text is allowed: it is local).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface SmtpCaptureOptions {
  /** Save each message as `<n>-<subject>.eml` (and `.html` when it has an HTML part) here. */
  readonly saveDir?: string;
  /** Require AUTH PLAIN/LOGIN with these credentials; without, AUTH is optional. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Parse messages into `messages` (default true); off for benchmarks, where only `count()` matters. */
  readonly parse?: boolean;
  /** 0 (default) for any free port. */
  readonly port?: number;
  /** Called with each parsed message (and where it was saved). */
  readonly onMessage?: (mail: ParsedMail, files: { eml?: string; html?: string }) => void;
}

export interface CapturedEnvelope {
  readonly from: string | undefined;
  readonly to: readonly string[];
}

/** A message as it came in at the end of DATA, before parsing, and the reply it got. */
export interface ReceivedMessage {
  readonly raw: Buffer;
  /** 250 when accepted; the code of `failNext` when refused there. */
  readonly reply: number;
}

export interface SmtpCapture {
  /** `smtp://user:pass@127.0.0.1:port` (or without credentials). */
  readonly url: string;
  readonly port: number;
  /** Parsed messages, in the order the server accepted them. */
  readonly messages: ParsedMail[];
  /** Envelopes (MAIL FROM, RCPT TO) of the accepted messages, in the same order. */
  readonly envelopes: CapturedEnvelope[];
  /**
   * Every message that reached the end of DATA, accepted or refused by `failNext`, byte for byte
   * (what a DKIM verifier reads; a refused attempt and its retry can be compared). Kept only when
   * `parse` is on.
   */
  readonly received: ReceivedMessage[];
  /** Messages accepted so far (also counts them when `parse` is off). */
  count(): number;
  /** SMTP connections opened so far: shows whether a client pools. */
  connections(): number;
  /** The next `n` messages are refused at the end of DATA with this reply code (default 451). */
  failNext(n: number, code?: number, message?: string): void;
  /**
   * While set, every message is refused at MAIL FROM with this reply (a server that says "try
   * again later" for a while, e.g. 451); `undefined` accepts mail again. Counts the refusals.
   */
  setRefusing(reply: { code: number; message: string } | undefined): void;
  refused(): number;
  close(): Promise<void>;
}

export async function startSmtpCapture(options: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const messages: ParsedMail[] = [];
  const envelopes: CapturedEnvelope[] = [];
  const received: ReceivedMessage[] = [];
  const failures: Array<{ code: number; message: string }> = [];
  const parse = options.parse ?? true;
  let accepted = 0;
  let connections = 0;
  let refusing: { code: number; message: string } | undefined;
  let refusedCount = 0;
  if (options.saveDir) mkdirSync(options.saveDir, { recursive: true });

  const server = new SMTPServer({
    secure: false,
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    // No reverse DNS lookup of 127.0.0.1 per connection: it costs a resolver round trip each time,
    // which would dominate an unpooled benchmark and slow every test.
    disableReverseLookup: true,
    // 10 MiB: far above any notification, low enough that a runaway test fails loudly.
    size: 10 * 1024 * 1024,
    // Pooled clients keep connections open; on close() they are cut after this instead of the
    // default 30 s, so a test's teardown stays quick.
    closeTimeout: 200,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        return callback(null, { user: auth.username });
      }
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onMailFrom(_address, _session, callback) {
      if (refusing) {
        refusedCount += 1;
        return callback(Object.assign(new Error(refusing.message), { responseCode: refusing.code }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const failure = failures.shift();
        if (parse) received.push({ raw, reply: failure?.code ?? 250 });
        if (failure) {
          callback(Object.assign(new Error(failure.message), { responseCode: failure.code }));
          return;
        }
        const envelope: CapturedEnvelope = {
          from: addressOf(session.envelope.mailFrom),
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        if (!parse) {
          accepted += 1;
          callback();
          return;
        }
        simpleParser(raw)
          .then((mail) => {
            accepted += 1;
            messages.push(mail);
            envelopes.push(envelope);
            const files = options.saveDir ? save(options.saveDir, accepted, raw, mail) : {};
            options.onMessage?.(mail, files);
            callback();
          })
          .catch((err: unknown) => callback(err as Error));
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  // A client that dies mid-session (a service killed with SIGKILL in a crash test) resets its
  // connection; smtp-server reports that as a server 'error', which is routine here, not a failure.
  server.removeAllListeners('error');
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') process.emitWarning(`smtp capture: ${err.message}`);
  });
  // smtp-server's `server` is the underlying net.Server.
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo).port;
  const credentials = options.auth ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@` : '';
  let closing: Promise<void> | undefined;

  return {
    url: `smtp://${credentials}127.0.0.1:${port}`,
    port,
    messages,
    envelopes,
    received,
    count: () => accepted,
    connections: () => connections,
    failNext(n, code = 451, message = 'Requested action aborted: local error in processing') {
      for (let i = 0; i < n; i += 1) failures.push({ code, message });
    },
    setRefusing(reply) {
      refusing = reply;
    },
    refused: () => refusedCount,
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}

function addressOf(from: SMTPServerAddress | false): string | undefined {
  return from ? from.address : undefined;
}

function save(dir: string, n: number, raw: Buffer, mail: ParsedMail): { eml: string; html?: string } {
  const slug = (mail.subject ?? 'no-subject')
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .toLowerCase();
  const base = join(dir, `${String(n).padStart(4, '0')}-${slug || 'message'}`);
  writeFileSync(`${base}.eml`, raw);
  if (typeof mail.html === 'string') {
    writeFileSync(`${base}.html`, mail.html);
    return { eml: `${base}.eml`, html: `${base}.html` };
  }
  return { eml: `${base}.eml` };
}
