import { emailFailure } from '../../support/smtp.js';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmailError, createMailer, messageIdFor, type Mailer, type MailerSettings, type OutgoingEmail } from '../../../src/adapters/email/mailer.js';
import { until } from '../../support/kafka.js';
import { captureLogs } from './log-capture.js';

/**
 * A connection lost after the message went out and before the server answered it leaves the
 * send in doubt (the server may have queued it): such a send must fail as `inDoubt`, not
 * retriable, while every failure before the message and every reply to it keep their usual
 * meaning. Real SMTP over TCP, in the clear, over smtps and over STARTTLS: `smtp-server` with its
 * hooks turned into faults, and, for replies split across segments and for STARTTLS refused, a
 * small scripted server. (The parsing itself: test/unit/smtp-dialogue.test.ts.)
 */

const FROM = 'Refunds <refunds@shop.example>';
const logs = captureLogs();
const cleanups: Array<() => Promise<void>> = [];
let tls: { key: Buffer; cert: Buffer };

beforeAll(() => {
  // A throwaway self-signed certificate, for the smtps and STARTTLS cases.
  const dir = mkdtempSync(join(tmpdir(), 'smtp-in-doubt-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
});

afterEach(async () => {
  // Mailers first (registered last), then the servers they talk to.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function mailer(smtpUrl: string, settings: Partial<MailerSettings> = {}): Mailer {
  const m = createMailer({ smtpUrl, from: FROM, ...settings }, { logger: logs.logger });
  cleanups.push(() => m.close());
  return m;
}

function email(n: number, overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    to: `customer${n}@example.com`,
    subject: `Your refund ${n} is complete`,
    text: 'Hello',
    html: '<p>Hello</p>',
    messageId: messageIdFor(`R-${n}:customer:customer-completed`, FROM),
    ...overrides,
  };
}

const failure = emailFailure;

/** A message the server has read to its final dot, and what it can do about it. */
interface ReceivedMessage {
  readonly messageId: string | undefined;
  /** The SMTP connection it came on (smtp-server's id for it). */
  readonly connection: string;
  /** Answer it: 250 without a code, else that code. */
  reply(code?: number): void;
  /** Cut the connection: destroyed (FIN, unwritten replies lost), reset (RST), or ended once written. */
  drop(how?: Drop): void;
}

type Drop = 'close' | 'reset' | 'end';

/** What the server does at each step; a step without a handler goes as a normal server's would. */
interface Faults {
  onMailFrom?(step: Step): void;
  onRcptTo?(step: Step): void;
  /** DATA received, before the server's 354 goes out. */
  onDataCommand?(step: Step): void;
  onMessage?(message: ReceivedMessage): void;
}

interface Step {
  ok(): void;
  refuse(code: number): void;
  drop(how?: Drop): void;
}

interface FaultySmtp {
  /** For the mode: STARTTLS as production uses it (offered, taken, no requireTLS). */
  readonly url: string;
  readonly port: number;
  /** Message-IDs of the messages read to their end, whatever was done with them after. */
  readonly received: (string | undefined)[];
  /** Message-IDs of the messages answered 250. */
  readonly accepted: (string | undefined)[];
  /** For each message read to its end: was its session encrypted, and the name it asked for (SNI). */
  readonly sessions: Array<{ secure: boolean; servername: string | undefined }>;
}

/** `plain` offers neither STARTTLS nor TLS; `starttls` offers STARTTLS; `smtps` is TLS from the start. */
type Mode = 'plain' | 'smtps' | 'starttls';

async function startFaultySmtp(faults: Faults, mode: Mode = 'plain'): Promise<FaultySmtp> {
  const received: (string | undefined)[] = [];
  const accepted: (string | undefined)[] = [];
  const sessions: FaultySmtp['sessions'] = [];
  const server: SMTPServer = new SMTPServer({
    secure: mode === 'smtps',
    ...(mode === 'plain' ? { disabledCommands: ['STARTTLS', 'AUTH'] } : { ...tls, disabledCommands: ['AUTH'] }),
    authOptional: true,
    logger: false,
    disableReverseLookup: true,
    // Hung and half-done connections are cut this long after close(), so teardown stays quick.
    closeTimeout: 100,
    onMailFrom(_address, session, callback) {
      if (faults.onMailFrom) faults.onMailFrom(step(session, callback));
      else callback();
    },
    onRcptTo(_address, session, callback) {
      if (faults.onRcptTo) faults.onRcptTo(step(session, callback));
      else callback();
    },
    onData(stream, session, callback) {
      // smtp-server calls onData before it writes its 354, so a drop here is before the 354.
      faults.onDataCommand?.(step(session, () => undefined));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const messageId = messageIdOf(Buffer.concat(chunks).toString('latin1'));
        received.push(messageId);
        // smtp-server gives `false` for a session without SNI.
        sessions.push({ secure: session.secure, servername: (session as { servername?: string | false }).servername || undefined });
        const message: ReceivedMessage = {
          messageId,
          connection: session.id,
          reply(code) {
            if (code === undefined) {
              accepted.push(messageId);
              callback();
            } else {
              callback(Object.assign(new Error(code >= 500 ? 'Message rejected' : 'Try again later'), { responseCode: code }));
            }
          },
          drop: (how) => drop(session, how),
        };
        if (faults.onMessage) faults.onMessage(message);
        else message.reply();
      });
    },
  });
  // A client cut off mid-session, or one this server cuts, shows up as server 'error' events.
  server.on('error', () => undefined);

  function step(session: SMTPServerSession, callback: (err?: Error | null) => void): Step {
    return {
      ok: () => callback(),
      refuse: (code) => callback(Object.assign(new Error('Try again later'), { responseCode: code })),
      drop: (how) => drop(session, how),
    };
  }

  function drop(session: SMTPServerSession, how: Drop = 'close'): void {
    // smtp-server keeps its connections in `connections`, each with the socket it talks on.
    const connections = (server as unknown as { connections: Set<{ id: string; _socket: Socket }> }).connections;
    const socket = [...connections].find((c) => c.id === session.id)?._socket;
    if (!socket) throw new Error(`no connection ${session.id} to drop`);
    // A TLS socket cannot send an RST itself (resetAndDestroy needs a TCP handle): destroyed instead.
    if (how === 'reset' && 'resetAndDestroy' in socket && !('encrypted' in socket)) socket.resetAndDestroy();
    else if (how === 'end') socket.end();
    else socket.destroy();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = {
    plain: `smtp://127.0.0.1:${port}`,
    smtps: `smtps://127.0.0.1:${port}?tls.rejectUnauthorized=false`,
    starttls: `smtp://127.0.0.1:${port}?tls.rejectUnauthorized=false`,
  }[mode];
  return { url, port, received, accepted, sessions };
}

function messageIdOf(raw: string): string | undefined {
  const header = raw.split(/\r\n\r\n/, 1)[0]!.replace(/\r\n[ \t]+/g, ' ');
  return /^Message-ID:\s*(<[^>]+>)/im.exec(header)?.[1];
}

/**
 * A minimal SMTP server that writes every reply one byte at a time, each byte on its own turn of
 * the event loop with Nagle off, so replies reach the client split across segments. After the
 * n-th message (counted per server, from 1) it sends what `afterMessage(n)` returns, or nothing.
 * `ehlo` and `starttls` replace its replies to those commands (by default it offers no STARTTLS
 * and refuses it); after a 2xx to STARTTLS it reads and says nothing more (it speaks no TLS).
 */
async function startScriptedSmtp(
  afterMessage: (n: number) => string | undefined,
  replies: { ehlo?: string; starttls?: string } = {},
): Promise<{ url: string; connections(): number; commands: string[] }> {
  const sockets = new Set<Socket>();
  const commands: string[] = [];
  let connections = 0;
  let messages = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    let writing = Promise.resolve();
    const say = (text: string): void => {
      writing = writing.then(async () => {
        for (const byte of text) {
          if (socket.destroyed) return;
          socket.write(byte);
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
    };
    let buffer = '';
    let inMessage = false;
    let deaf = false;
    say('220 scripted ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      if (deaf) return;
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inMessage) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end === -1) return;
          buffer = buffer.slice(end + 5);
          inMessage = false;
          messages += 1;
          const reply = afterMessage(messages);
          if (reply !== undefined) say(reply);
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline === -1) return;
        const verb = buffer.slice(0, Math.min(newline, 4)).toUpperCase();
        buffer = buffer.slice(newline + 2);
        commands.push(verb);
        if (verb === 'EHLO') say(replies.ehlo ?? '250-scripted\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        else if (verb === 'STAR') {
          const reply = replies.starttls ?? '502 5.5.1 not here\r\n';
          say(reply);
          if (reply.startsWith('2')) {
            deaf = true;
            return;
          }
        } else if (verb === 'DATA') {
          inMessage = true;
          say('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          say('221 bye\r\n');
          void writing.then(() => socket.end());
        } else say('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `smtp://127.0.0.1:${port}`, connections: () => connections, commands };
}

function expectInDoubt(error: EmailError, messageId: string): void {
  expect(error).toMatchObject({ code: 'SMTP_IN_DOUBT', retriable: false, inDoubt: true });
  expect(error.responseCode).toBeUndefined();
  expect(error.message).toContain('may or may not have been accepted');
  expect(error.message).toContain(messageId);
}

// Short enough for a quick test, long enough that a loaded machine's server answers its commands
// well within it: only the hung step should ever reach it.
const SOCKET_TIMEOUT_MS = 1_000;

describe('a connection lost between the message and the reply to it', () => {
  it.each([true, false])('a server that reads the message and never answers: in doubt, not retriable (pool: %s)', async (pool) => {
    const smtp = await startFaultySmtp({ onMessage: () => undefined });
    const m = mailer(smtp.url, { pool, socketTimeoutMs: SOCKET_TIMEOUT_MS });
    const sent = email(1);
    const error = await failure(m.send(sent));
    expectInDoubt(error, sent.messageId!);
    // The server had all of it: the case this is about.
    expect(smtp.received).toEqual([sent.messageId]);
  });

  it.each(['close', 'reset'] as const)('a server that drops the connection after reading the message, before answering (%s): in doubt', async (how) => {
    const smtp = await startFaultySmtp({ onMessage: (message) => message.drop(how) });
    const sent = email(2);
    expectInDoubt(await failure(mailer(smtp.url).send(sent)), sent.messageId!);
    expect(smtp.received).toEqual([sent.messageId]);
  });

  it('a DKIM-signed email, its DKIM-Signature header written before the rest: in doubt, found by its Message-ID', async () => {
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const smtp = await startFaultySmtp({ onMessage: (message) => message.drop() });
    const sent = email(4);
    expectInDoubt(await failure(mailer(smtp.url, { dkim: { domain: 'shop.example', selector: 's1', privateKey } }).send(sent)), sent.messageId!);
    expect(smtp.received).toEqual([sent.messageId]);
  });

  it.each(['smtps', 'starttls'] as const)('over %s too: the TLS socket is the mailer own, so it sees the dialogue in the clear', async (mode) => {
    const smtp = await startFaultySmtp({ onMessage: (message) => message.drop() }, mode);
    const sent = email(3);
    expectInDoubt(await failure(mailer(smtp.url).send(sent)), sent.messageId!);
    expect(smtp.sessions).toEqual([{ secure: true, servername: undefined }]);
  });

  it('an email sent without a Message-ID gets one from the mailer, which the in-doubt error names', async () => {
    const smtp = await startFaultySmtp({ onMessage: () => undefined });
    const error = await failure(mailer(smtp.url, { socketTimeoutMs: SOCKET_TIMEOUT_MS }).send(email(4, { messageId: undefined })));
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatch(/^<[0-9a-f-]{36}@shop\.example>$/);
    expectInDoubt(error, smtp.received[0]!);
  });

  it('the mark goes with the send: the same Message-ID sent again and refused with 451 is retriable', async () => {
    let n = 0;
    const smtp = await startFaultySmtp({ onMessage: (message) => (++n === 1 ? message.drop() : message.reply(451)) });
    const m = mailer(smtp.url);
    const sent = email(5);
    expectInDoubt(await failure(m.send(sent)), sent.messageId!);
    // What an operator's retry from /admin/outbox does: the same email, the same id.
    const again = await failure(m.send(sent));
    expect(again).toMatchObject({ retriable: true, inDoubt: false, responseCode: 451 });
    expect(smtp.received).toEqual([sent.messageId, sent.messageId]);
  });
});

describe('failures before the message, and replies to it, keep their meaning', () => {
  const retriableCases: Array<[string, Faults]> = [
    ['the connection dropped after MAIL FROM', { onMailFrom: (step) => step.drop() }],
    ['the connection reset after RCPT TO', { onRcptTo: (step) => step.drop('reset') }],
    ['the connection dropped after DATA, before the 354', { onDataCommand: (step) => step.drop() }],
    ['451 to RCPT TO', { onRcptTo: (step) => step.refuse(451) }],
    ['no answer to RCPT TO (a timeout before DATA)', { onRcptTo: () => undefined }],
  ];

  it.each(retriableCases.flatMap(([name, faults]) => (['plain', 'starttls'] as const).map((mode) => [name, mode, faults] as const)))(
    '%s (%s): retriable, not in doubt, nothing received',
    async (_name, mode, faults) => {
    const smtp = await startFaultySmtp(faults, mode);
    const error = await failure(mailer(smtp.url, { socketTimeoutMs: SOCKET_TIMEOUT_MS }).send(email(10)));
    expect(error).toMatchObject({ retriable: true, inDoubt: false });
    expect(error.code).not.toBe('SMTP_IN_DOUBT');
    expect(smtp.received).toEqual([]);
    },
  );

  it('a refused connection: retriable, not in doubt', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(mailer(`smtp://127.0.0.1:${port}`, { timeoutMs: 2_000 }).send(email(11)));
    expect(error).toMatchObject({ retriable: true, inDoubt: false });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('a server that closes the connection before its greeting: retriable, not in doubt', async () => {
    const rude = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => rude.close(() => resolve())));
    const { port } = rude.address() as AddressInfo;
    const error = await failure(mailer(`smtp://127.0.0.1:${port}`).send(email(15)));
    expect(error).toMatchObject({ retriable: true, inDoubt: false });
  });

  it.each(['plain', 'starttls'] as const)('451 to the message: retriable, not in doubt (%s)', async (mode) => {
    const smtp = await startFaultySmtp({ onMessage: (message) => message.reply(451) }, mode);
    const error = await failure(mailer(smtp.url).send(email(12)));
    expect(error).toMatchObject({ retriable: true, inDoubt: false, responseCode: 451, code: 'SMTP_EMESSAGE' });
  });

  it.each(['plain', 'starttls'] as const)('550 to the message: permanent, not in doubt (%s)', async (mode) => {
    const smtp = await startFaultySmtp({ onMessage: (message) => message.reply(550) }, mode);
    const error = await failure(mailer(smtp.url).send(email(13)));
    expect(error).toMatchObject({ retriable: false, inDoubt: false, responseCode: 550, code: 'SMTP_EMESSAGE' });
  });

  it('a message accepted, then the connection closed: delivered, with the Message-ID the mailer chose', async () => {
    const smtp = await startFaultySmtp({
      onMessage: (message) => {
        message.reply();
        // Closed as soon as the 250 is written, which may reach the client in the same segment.
        message.drop('end');
      },
    });
    const sent = await mailer(smtp.url).send(email(14, { messageId: undefined }));
    expect(sent.messageId).toMatch(/^<[0-9a-f-]{36}@shop\.example>$/);
    expect(smtp.accepted).toEqual([sent.messageId]);
  });
});

describe('a pool of connections', () => {
  it.each(['plain', 'starttls'] as const)('of concurrent sends, only the one whose connection died mid-message is in doubt (%s)', async (mode) => {
    const CONNECTIONS = 3;
    const doomed = email(101).messageId;
    const refused = email(102).messageId;
    // The server holds the first messages until one is pending on every connection, so the drop
    // happens while the others are mid-message too; then it drops one, refuses one with 451 and
    // accepts the rest, from then on as they come.
    const held: ReceivedMessage[] = [];
    let released = false;
    const answer = (message: ReceivedMessage): void => {
      if (message.messageId === doomed) message.drop('reset');
      else if (message.messageId === refused) message.reply(451);
      else message.reply();
    };
    const smtp = await startFaultySmtp({
      onMessage: (message) => {
        if (released) return answer(message);
        held.push(message);
        if (held.length < CONNECTIONS) return;
        released = true;
        for (const m of held) answer(m);
      },
    }, mode);
    // A socket timeout far above the test's pace: a barrier that never fills fails the test
    // through it rather than hanging.
    const m = mailer(smtp.url, { maxConnections: CONNECTIONS, socketTimeoutMs: 10_000 });
    const emails = Array.from({ length: 12 }, (_, i) => email(100 + i));
    const results = await Promise.allSettled(emails.map((e) => m.send(e)));

    expect(released).toBe(true);
    // The three held were on three connections at once, the doomed one among them.
    expect(new Set(held.map((h) => h.connection)).size).toBe(CONNECTIONS);
    expect(held.map((h) => h.messageId)).toContain(doomed);
    const outcome = results.map((r, i) => ({
      messageId: emails[i]!.messageId,
      sent: r.status === 'fulfilled' ? r.value.messageId : undefined,
      error: r.status === 'rejected' ? (r.reason as EmailError) : undefined,
    }));
    const failed = outcome.filter((o) => o.error);
    expect(failed.map((o) => o.messageId).sort()).toEqual([doomed, refused].sort());
    expectInDoubt(outcome.find((o) => o.messageId === doomed)!.error!, doomed!);
    expect(outcome.find((o) => o.messageId === refused)!.error).toMatchObject({ retriable: true, inDoubt: false, responseCode: 451 });
    for (const o of outcome.filter((x) => !x.error)) expect(o.sent).toBe(o.messageId);
    await until(() => smtp.accepted.length === 10, { message: 'the ten others to be accepted' });
    expect(new Set(smtp.accepted)).toEqual(new Set(outcome.filter((o) => !o.error).map((o) => o.messageId)));
  });
});

describe('the dialogue as it comes off the wire', () => {
  it('follows replies split across segments and multi-line replies on a reused connection', async () => {
    // The first message is answered with a multi-line 250; the second with the first line of
    // one, and then nothing: the reply never completed, so it is in doubt. Every reply, the 354s
    // included, arrives a byte at a time.
    const smtp = await startScriptedSmtp((n) => (n === 1 ? '250-queued as A1\r\n250 ok\r\n' : '250-queued as A2\r\n'));
    const m = mailer(smtp.url, { maxConnections: 1, socketTimeoutMs: SOCKET_TIMEOUT_MS });
    const first = email(201);
    expect(await m.send(first)).toEqual({ messageId: first.messageId });
    const second = email(202);
    expectInDoubt(await failure(m.send(second)), second.messageId!);
    expect(smtp.connections()).toBe(1);
  });
});

describe('STARTTLS: the mailer negotiates it as nodemailer would, then hands nodemailer the TLS socket', () => {
  it('delivers over the TLS session, which nodemailer starts from the replayed greeting; SNI as nodemailer sends it', async () => {
    const smtp = await startFaultySmtp({}, 'starttls');
    const m = mailer(`smtp://localhost:${smtp.port}?tls.rejectUnauthorized=false`);
    await m.verify();
    // Two on one pooled connection: the session goes on after the first.
    for (const n of [401, 402]) expect(await m.send(email(n))).toEqual({ messageId: email(n).messageId });
    expect(smtp.accepted).toEqual([email(401).messageId, email(402).messageId]);
    expect(smtp.sessions).toEqual([
      { secure: true, servername: 'localhost' },
      { secure: true, servername: 'localhost' },
    ]);
  });

  it('keeps tls.servername from SMTP_URL', async () => {
    const smtp = await startFaultySmtp({}, 'starttls');
    await mailer(`smtp://127.0.0.1:${smtp.port}?tls.rejectUnauthorized=false&tls.servername=mx.shop.example`).send(email(403));
    expect(smtp.sessions).toEqual([{ secure: true, servername: 'mx.shop.example' }]);
  });

  it('a server that never answers the message after STARTTLS: in doubt', async () => {
    const smtp = await startFaultySmtp({ onMessage: () => undefined }, 'starttls');
    const sent = email(404);
    expectInDoubt(await failure(mailer(smtp.url, { socketTimeoutMs: SOCKET_TIMEOUT_MS }).send(sent)), sent.messageId!);
    expect(smtp.received).toEqual([sent.messageId]);
  });

  it('with requireTLS too', async () => {
    const smtp = await startFaultySmtp({ onMessage: (message) => message.drop() }, 'starttls');
    const sent = email(405);
    expectInDoubt(await failure(mailer(`${smtp.url}&requireTLS=true`).send(sent)), sent.messageId!);
    expect(smtp.sessions.map((s) => s.secure)).toEqual([true]);
  });

  it('a certificate the client does not trust: retriable, not in doubt, nothing received', async () => {
    const smtp = await startFaultySmtp({}, 'starttls');
    const error = await failure(mailer(`smtp://127.0.0.1:${smtp.port}`).send(email(406)));
    expect(error).toMatchObject({ retriable: true, inDoubt: false, code: 'SMTP_ESOCKET' });
    expect(error.message).toMatch(/self[- ]signed/i);
    expect(smtp.received).toEqual([]);
  });

  it('a server that does not offer STARTTLS: plain, as before, and still in doubt when lost mid-message', async () => {
    const smtp = await startFaultySmtp({ onMessage: (message) => message.drop() }, 'plain');
    const sent = email(407);
    expectInDoubt(await failure(mailer(smtp.url).send(sent)), sent.messageId!);
    expect(smtp.sessions).toEqual([{ secure: false, servername: undefined }]);
  });

  it('requireTLS against a server without STARTTLS: refused, as nodemailer refuses it, nothing sent', async () => {
    const smtp = await startFaultySmtp({}, 'plain');
    const error = await failure(mailer(`${smtp.url}?requireTLS=true`).send(email(408)));
    expect(error).toMatchObject({ code: 'SMTP_ETLS', retriable: false, inDoubt: false });
    expect(error.responseCode).toBeGreaterThanOrEqual(500);
    expect(smtp.received).toEqual([]);
  });

  it('ignoreTLS: plain although STARTTLS is offered, and still in doubt when lost mid-message', async () => {
    const smtp = await startFaultySmtp({ onMessage: (message) => message.drop() }, 'starttls');
    const sent = email(409);
    expectInDoubt(await failure(mailer(`smtp://127.0.0.1:${smtp.port}?ignoreTLS=true`).send(sent)), sent.messageId!);
    expect(smtp.sessions).toEqual([{ secure: false, servername: undefined }]);
  });

  const OFFERS_STARTTLS = '250-scripted\r\n250-STARTTLS\r\n250 8BITMIME\r\n';

  it('STARTTLS refused with 454: retriable; with opportunisticTLS, sent in the clear without asking again', async () => {
    const refusing = await startScriptedSmtp(() => '250 ok\r\n', { ehlo: OFFERS_STARTTLS, starttls: '454 4.7.0 TLS not available\r\n' });
    const error = await failure(mailer(refusing.url).send(email(410)));
    expect(error).toMatchObject({ code: 'SMTP_ETLS', retriable: true, inDoubt: false, responseCode: 454 });

    const lenient = await startScriptedSmtp(() => '250 ok\r\n', { ehlo: OFFERS_STARTTLS, starttls: '454 4.7.0 TLS not available\r\n' });
    expect(await mailer(`${lenient.url}?opportunisticTLS=true`).send(email(411))).toEqual({ messageId: email(411).messageId });
    // The mailer's EHLO and STARTTLS, then nodemailer's session from the replayed greeting.
    expect(lenient.commands.slice(0, 4)).toEqual(['EHLO', 'STAR', 'EHLO', 'MAIL']);
  });

  it('a server that agrees to STARTTLS and then says nothing: a retriable timeout', async () => {
    const silent = await startScriptedSmtp(() => undefined, { ehlo: OFFERS_STARTTLS, starttls: '220 go ahead\r\n' });
    const error = await failure(mailer(silent.url, { socketTimeoutMs: SOCKET_TIMEOUT_MS }).send(email(412)));
    expect(error).toMatchObject({ code: 'SMTP_ETIMEDOUT', retriable: true, inDoubt: false });
  });
});

describe('where the mailer cannot see the dialogue, it reports as before (retriable)', () => {
  // A documented limitation (see MailerSettings.noDelay): this pins it, so a change is a
  // deliberate one.
  it('with noDelay off, nodemailer opens the socket itself', async () => {
    const smtp = await startFaultySmtp({ onMessage: () => undefined });
    const error = await failure(mailer(smtp.url, { noDelay: false, socketTimeoutMs: SOCKET_TIMEOUT_MS }).send(email(302)));
    expect(smtp.received).toEqual([email(302).messageId]);
    expect(error).toMatchObject({ retriable: true, inDoubt: false, code: 'SMTP_ETIMEDOUT' });
  });
});
