import { describe, expect, it } from 'vitest';
import { mapSmtpError } from '../../src/adapters/email/mailer.js';
import {
  MAX_HEADER_BYTES,
  MAX_REPLY_BYTES,
  createDialogueTracker,
  createReplyReader,
  createStarttlsNegotiation,
  defaultEhloName,
  eachLine,
  tlsPlanFor,
  type DialogueTracker,
  type NegotiationStep,
} from '../../src/adapters/email/smtp-dialogue.js';

/**
 * The parsing under the in-doubt verdict and the STARTTLS negotiation, byte by byte and without
 * sockets; test/integration/notify/mailer-in-doubt.test.ts proves the same over real SMTP.
 */

const ID = '<3f9a0c.refund-notifier@shop.example>';
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Feeds `text` one piece at a time: whole, or split into pieces of `size` bytes. */
function feed(into: (chunk: Buffer) => void, text: string, size = text.length): void {
  for (let i = 0; i < text.length; i += size) into(b(text.slice(i, i + size)));
}

/** A session up to the message going out, as nodemailer writes it and smtp-server answers it. */
function upToMessage(t: DialogueTracker, size?: number): void {
  const server = (text: string) => feed((c) => t.fromServer(c), text, size);
  const client = (text: string) => feed((c) => t.fromClient(c), text, size);
  server('220 mx.example ESMTP\r\n');
  client('EHLO [127.0.0.1]\r\n');
  server('250-mx.example\r\n250-PIPELINING\r\n250-DATA-LIKE-EXTENSION\r\n250 8BITMIME\r\n');
  client('MAIL FROM:<refunds@shop.example>\r\n');
  server('250 Accepted\r\n');
  client('RCPT TO:<c@example.com>\r\n');
  server('250 Accepted\r\n');
  client('DATA\r\n');
  server('354 End data with <CR><LF>.<CR><LF>\r\n');
}

const message = (id = ID) => `Content-Type: text/plain\r\nFrom: Refunds <refunds@shop.example>\r\nTo: c@example.com\r\nMessage-ID: ${id}\r\nSubject: Your refund\r\n\r\nHello\r\n.\r\n`;

describe('the dialogue tracker', () => {
  it.each([undefined, 1, 3])('a message out and unanswered is in doubt, with its Message-ID (pieces of %s bytes)', (size) => {
    const t = createDialogueTracker();
    upToMessage(t, size);
    feed((c) => t.fromClient(c), message(), size);
    expect(t.lost()).toBe(ID);
    // Once: the socket's timeout, error, end and close all report the same loss.
    expect(t.lost()).toBeUndefined();
  });

  it.each([undefined, 1])('the reply to the message settles it, whatever it says, even split (pieces of %s bytes)', (size) => {
    for (const reply of ['250 2.0.0 Ok: queued as A1\r\n', '451 4.3.0 Try again later\r\n', '550 5.7.1 Rejected\r\n']) {
      const t = createDialogueTracker();
      upToMessage(t);
      t.fromClient(b(message()));
      feed((c) => t.fromServer(c), reply, size);
      expect(t.lost()).toBeUndefined();
    }
  });

  it('a multi-line reply to the message settles it only at its last line', () => {
    const open = createDialogueTracker();
    upToMessage(open);
    open.fromClient(b(message()));
    open.fromServer(b('250-queued as A1\r\n250-and more\r\n'));
    // The reply never completed: the server may still fail to queue it.
    expect(open.lost()).toBe(ID);

    const complete = createDialogueTracker();
    upToMessage(complete);
    complete.fromClient(b(message()));
    complete.fromServer(b('250-queued as A1\r\n250-and more\r'));
    complete.fromServer(b('\n250 ok\r\n'));
    expect(complete.lost()).toBeUndefined();
  });

  it('on a reused connection, each message is followed anew', () => {
    const t = createDialogueTracker();
    upToMessage(t);
    t.fromClient(b(message('<first@shop.example>')));
    t.fromServer(b('250 ok\r\n'));
    t.fromClient(b('MAIL FROM:<refunds@shop.example>\r\nRCPT TO:<d@example.com>\r\n'));
    t.fromServer(b('250 ok\r\n250 ok\r\n'));
    t.fromClient(b('data\r\n'));
    t.fromServer(b('354 go\r\n'));
    t.fromClient(b(message('<second@shop.example>')));
    expect(t.lost()).toBe('<second@shop.example>');
  });

  it('a loss before the message is not in doubt: before DATA, after a refused DATA, after the 354', () => {
    const beforeData = createDialogueTracker();
    beforeData.fromServer(b('220 hi\r\n'));
    beforeData.fromClient(b('MAIL FROM:<a@b.example>\r\n'));
    expect(beforeData.lost()).toBeUndefined();

    const refused = createDialogueTracker();
    refused.fromClient(b('DATA\r\n'));
    refused.fromServer(b('451 not now\r\n'));
    refused.fromClient(b(message()));
    expect(refused.lost()).toBeUndefined();

    const goAhead = createDialogueTracker();
    upToMessage(goAhead);
    expect(goAhead.lost()).toBeUndefined();
  });

  it('a loss before the Message-ID went out is not in doubt: the server cannot have the message', () => {
    const t = createDialogueTracker();
    upToMessage(t);
    t.fromClient(b('Content-Type: text/plain\r\nFrom: a@b.example\r\nMessage-ID: <3f9a'));
    expect(t.lost()).toBeUndefined();
  });

  it('DATA may be answered 2xx, as nodemailer accepts', () => {
    const t = createDialogueTracker();
    t.fromClient(b('DATA\r\n'));
    t.fromServer(b('250 go on\r\n'));
    t.fromClient(b(message()));
    expect(t.lost()).toBe(ID);
  });

  it('reads a Message-ID folded onto the next line, and one split across writes', () => {
    const folded = createDialogueTracker();
    upToMessage(folded);
    folded.fromClient(b(`From: a@b.example\r\nMessage-ID:\r\n ${ID}\r\nSubject: s\r\n\r\nbody\r\n.\r\n`));
    expect(folded.lost()).toBe(ID);

    const split = createDialogueTracker();
    upToMessage(split);
    feed((c) => split.fromClient(c), message(), 7);
    expect(split.lost()).toBe(ID);
  });

  it('takes the Message-ID from the header only, never from the body', () => {
    const t = createDialogueTracker();
    upToMessage(t);
    t.fromClient(b(`From: a@b.example\r\nSubject: s\r\n\r\nMessage-ID: ${ID}\r\n.\r\n`));
    expect(t.lost()).toBeUndefined();
  });

  it(`reads at most ${MAX_HEADER_BYTES} bytes of header: a Message-ID past them is not found`, () => {
    const t = createDialogueTracker();
    upToMessage(t);
    const to = `To: ${Array.from({ length: 5_000 }, (_, i) => `c${i}@example.com`).join(', ')}\r\n`;
    expect(to.length).toBeGreaterThan(MAX_HEADER_BYTES);
    feed((c) => t.fromClient(c), to, 16 * 1024);
    expect(t.held().length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
    t.fromClient(b(`Message-ID: ${ID}\r\n\r\nbody\r\n.\r\n`));
    // Given up on, and nothing held of it any more.
    expect(t.held()).toBe('');
    expect(t.lost()).toBeUndefined();
  });

  it('reads no further than the bound within one large write either', () => {
    const t = createDialogueTracker();
    upToMessage(t);
    t.fromClient(b(`X-Long: ${'x'.repeat(MAX_HEADER_BYTES)}\r\nMessage-ID: ${ID}\r\n\r\nbody\r\n.\r\n`));
    expect(t.held()).toBe('');
    expect(t.lost()).toBeUndefined();
  });

  it('a Message-ID within the bound after a long header is still found', () => {
    const t = createDialogueTracker();
    upToMessage(t);
    t.fromClient(b(`X-Long: ${'x'.repeat(MAX_HEADER_BYTES - 200)}\r\nMessage-ID: ${ID}\r\n\r\n`));
    expect(t.lost()).toBe(ID);
  });

  it('never keeps an AUTH line past its end, nor more than 9 bytes of it while open', () => {
    const t = createDialogueTracker();
    t.fromServer(b('220 hi\r\n'));
    const secrets = ['AHJlZnVuZHMAaHVudGVyMg==', 'cmVmdW5kcw==', 'aHVudGVyMg=='];
    t.fromClient(b(`AUTH PLAIN ${secrets[0]}`));
    expect(t.held().length).toBeLessThanOrEqual(9);
    t.fromClient(b('\r\n'));
    expect(t.held()).toBe('');
    // AUTH LOGIN: the user and the password on lines of their own, split across writes.
    t.fromClient(b('AUTH LOGIN\r\n'));
    t.fromServer(b('334 VXNlcm5hbWU6\r\n'));
    feed((c) => t.fromClient(c), `${secrets[1]}\r\n`, 5);
    t.fromServer(b('334 UGFzc3dvcmQ6\r\n'));
    feed((c) => {
      t.fromClient(c);
      for (const secret of secrets) expect(t.held()).not.toContain(secret.slice(0, 10));
    }, `${secrets[2]}\r\n`, 5);
    expect(t.held()).toBe('');
    t.fromServer(b('235 ok\r\n'));
    expect(t.held()).toBe('');
  });

  it('holds at most 4 bytes of a server line, however long the line', () => {
    const t = createDialogueTracker();
    feed((c) => t.fromServer(c), `250-${'x'.repeat(100_000)}`, 4096);
    expect(t.held().length).toBeLessThanOrEqual(4);
  });

  it('after a STARTTLS nodemailer makes on this socket, it is blind and reports nothing', () => {
    const t = createDialogueTracker();
    t.fromClient(b('STARTTLS\r\n'));
    t.fromServer(b('220 go ahead\r\n'));
    // What would follow is encrypted; even bytes that look like a message are not taken as one.
    t.fromClient(b('DATA\r\n'));
    t.fromServer(b('354 go\r\n'));
    t.fromClient(b(message()));
    expect(t.lost()).toBeUndefined();
  });
});

describe('eachLine', () => {
  it('hands over the first bytes of each line and returns the open one', () => {
    const lines: string[] = [];
    let open = eachLine(b('250-first line\r\n25'), '', 4, (l) => lines.push(l));
    open = eachLine(b('0 last\r\n'), open, 4, (l) => lines.push(l));
    expect(lines).toEqual(['250-', '250 ']);
    expect(open).toBe('');
  });
});

describe('the reply reader', () => {
  it('joins multi-line replies and keeps their bytes as they came, however split', () => {
    const text = '220-mx.example ESMTP\r\n220-no UCE\r\n220 ready\r\n250 ok\n';
    for (const size of [1, 2, 5, text.length]) {
      const reader = createReplyReader(MAX_REPLY_BYTES);
      const replies = [];
      for (let i = 0; i < text.length; i += size) replies.push(...reader.read(b(text.slice(i, i + size))).replies);
      expect(replies).toEqual([
        { text: '220-mx.example ESMTP\n220-no UCE\n220 ready', raw: '220-mx.example ESMTP\r\n220-no UCE\r\n220 ready\r\n' },
        { text: '250 ok', raw: '250 ok\n' },
      ]);
    }
  });

  it('skips empty lines between replies', () => {
    expect(createReplyReader(100).read(b('\r\n220 hi\r\n')).replies.map((r) => r.text)).toEqual(['220 hi']);
  });

  it('gives up on a reply that grows past its bound', () => {
    const reader = createReplyReader(1024);
    let overflow = false;
    for (let i = 0; i < 100 && !overflow; i += 1) overflow = reader.read(b('250-a line that never ends the reply\r\n')).overflow;
    expect(overflow).toBe(true);
  });
});

/** Runs a negotiation against scripted server replies; returns the steps and the commands sent. */
function negotiate(options: Parameters<typeof createStarttlsNegotiation>[0], serverSays: string[]): { steps: NegotiationStep[]; sent: string[] } {
  const n = createStarttlsNegotiation(options);
  const steps: NegotiationStep[] = [];
  for (const text of serverSays) steps.push(...n.read(b(text)));
  return { steps, sent: steps.flatMap((s) => (s.kind === 'send' ? [s.command] : [])) };
}

const GREETING = '220-mx.example ESMTP\r\n220 no UCE\r\n';
const EHLO_TLS = '250-mx.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n';
const EHLO_PLAIN = '250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n';

function last(steps: NegotiationStep[]): NegotiationStep {
  return steps[steps.length - 1]!;
}

function failure(step: NegotiationStep) {
  if (step.kind !== 'fail') throw new Error(`expected a failure, got ${step.kind}`);
  return { error: step.error, mapped: mapSmtpError(step.error) };
}

describe('the STARTTLS negotiation (what nodemailer would decide, step by step)', () => {
  it('EHLO, STARTTLS, then the upgrade, with the whole greeting kept to replay', () => {
    const { steps, sent } = negotiate({ name: 'notifier.example' }, [GREETING, EHLO_TLS, '220 2.0.0 Ready to start TLS\r\n']);
    expect(sent).toEqual(['EHLO notifier.example\r\n', 'STARTTLS\r\n']);
    expect(last(steps)).toEqual({ kind: 'upgrade', greeting: b(GREETING) });
  });

  it('follows replies split anywhere, one byte at a time', () => {
    const bytes = [...`${GREETING}${EHLO_TLS}220 go ahead\r\n`];
    const { steps, sent } = negotiate({ name: 'n.example' }, bytes);
    expect(sent).toEqual(['EHLO n.example\r\n', 'STARTTLS\r\n']);
    expect(last(steps)).toMatchObject({ kind: 'upgrade' });
  });

  it('drops whatever the server sends in the clear after agreeing to STARTTLS (RFC 3207 §4.2)', () => {
    const n = createStarttlsNegotiation({ name: 'n.example' });
    n.read(b(GREETING));
    n.read(b(EHLO_TLS));
    const steps = n.read(b('220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n'));
    expect(steps).toEqual([{ kind: 'upgrade', greeting: b(GREETING) }]);
    expect(n.read(b('250 more\r\n'))).toEqual([]);
  });

  it('a server that does not offer STARTTLS: plain, handed over with the greeting', () => {
    const { steps, sent } = negotiate({ name: 'n.example' }, [GREETING, EHLO_PLAIN]);
    expect(sent).toEqual(['EHLO n.example\r\n']);
    expect(last(steps)).toEqual({ kind: 'hand-over', greeting: b(GREETING), ignoreTLS: false });
  });

  it('STARTTLS is recognised as nodemailer does: any case, on any line of the reply', () => {
    for (const ehlo of ['250-mx\r\n250 starttls\r\n', '250-mx\r\n250-StartTLS\r\n250 SIZE 10\r\n']) {
      expect(last(negotiate({ name: 'n' }, [GREETING, ehlo]).steps)).toMatchObject({ kind: 'send', command: 'STARTTLS\r\n' });
    }
    expect(last(negotiate({ name: 'n' }, [GREETING, '250-mx\r\n250 XSTARTTLSX\r\n']).steps)).toMatchObject({ kind: 'hand-over' });
  });

  it('requireTLS asks for STARTTLS even when not offered, and fails when it is refused (permanent)', () => {
    const { steps, sent } = negotiate({ name: 'n', requireTLS: true }, [GREETING, EHLO_PLAIN, '502 5.5.1 Unrecognized command\r\n']);
    expect(sent).toEqual(['EHLO n\r\n', 'STARTTLS\r\n']);
    const { error, mapped } = failure(last(steps));
    expect(error).toMatchObject({ code: 'ETLS', command: 'STARTTLS', responseCode: 502 });
    expect(mapped).toMatchObject({ code: 'SMTP_ETLS', retriable: false, responseCode: 502 });
  });

  it('STARTTLS refused with 454: fails retriable; with opportunisticTLS, plain and not asked again', () => {
    const refused = failure(last(negotiate({ name: 'n' }, [GREETING, EHLO_TLS, '454 4.7.0 TLS not available\r\n']).steps));
    expect(refused.mapped).toMatchObject({ code: 'SMTP_ETLS', retriable: true, responseCode: 454 });
    const { steps } = negotiate({ name: 'n', opportunisticTLS: true }, [GREETING, EHLO_TLS, '454 4.7.0 TLS not available\r\n']);
    expect(last(steps)).toEqual({ kind: 'hand-over', greeting: b(GREETING), ignoreTLS: true });
  });

  it('a refused EHLO: plain (nodemailer falls back to HELO), but fails under requireTLS; 421 always fails', () => {
    expect(last(negotiate({ name: 'n' }, [GREETING, '502 EHLO not here\r\n']).steps)).toMatchObject({ kind: 'hand-over', ignoreTLS: false });
    expect(failure(last(negotiate({ name: 'n', requireTLS: true }, [GREETING, '502 EHLO not here\r\n']).steps)).mapped).toMatchObject({
      code: 'SMTP_ECONNECTION',
      retriable: false,
    });
    expect(failure(last(negotiate({ name: 'n' }, [GREETING, '421 4.3.2 shutting down\r\n']).steps)).mapped).toMatchObject({
      code: 'SMTP_ECONNECTION',
      retriable: true,
      responseCode: 421,
    });
  });

  it('a greeting other than 220 fails the connection as nodemailer does (EPROTOCOL, with the reply)', () => {
    expect(failure(last(negotiate({ name: 'n' }, ['554 5.3.2 no service\r\n']).steps)).mapped).toMatchObject({ code: 'SMTP_EPROTOCOL', retriable: false, responseCode: 554 });
    expect(failure(last(negotiate({ name: 'n' }, ['421 4.3.2 busy\r\n']).steps)).mapped).toMatchObject({ code: 'SMTP_EPROTOCOL', retriable: true, responseCode: 421 });
  });

  it(`a reply past ${MAX_REPLY_BYTES} bytes fails the connection, retriable`, () => {
    const n = createStarttlsNegotiation({ name: 'n' });
    let steps: NegotiationStep[] = [];
    for (let i = 0; i < 2_000 && steps.length === 0; i += 1) steps = n.read(b(`220-${'x'.repeat(60)}\r\n`));
    expect(failure(last(steps)).mapped).toMatchObject({ code: 'SMTP_EPROTOCOL', retriable: true });
  });
});

describe('where TLS is decided', () => {
  it('as nodemailer decides it: implicit on smtps or port 465, none when told to ignore it, STARTTLS otherwise', () => {
    expect(tlsPlanFor({ secure: true, port: 2465 })).toBe('implicit');
    expect(tlsPlanFor({ port: 465 })).toBe('implicit');
    expect(tlsPlanFor({ secure: false, port: 465 })).toBe('starttls');
    expect(tlsPlanFor({ secure: false, port: 587 })).toBe('starttls');
    expect(tlsPlanFor({ secure: false, port: 587, ignoreTLS: true, requireTLS: true })).toBe('none');
    expect(tlsPlanFor({ secure: false, port: 24, lmtp: true })).toBe('none');
  });

  it('says EHLO with the name nodemailer would use', () => {
    expect(defaultEhloName('mail.shop.example')).toBe('mail.shop.example');
    expect(defaultEhloName('pod-7f9c')).toBe('[127.0.0.1]');
    expect(defaultEhloName('10.0.0.7')).toBe('[10.0.0.7]');
  });
});
