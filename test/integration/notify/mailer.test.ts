import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, messageIdFor, type Mailer } from '../../../src/adapters/email/mailer.js';
import { renderCustomerCompleted, renderEscalationEmail } from '../../../src/adapters/email/render.js';
import { loadTemplates } from '../../../src/adapters/email/templates.js';
import { escalationGroupContent } from '../../../src/domain/notification-content.js';
import { until } from '../../support/kafka.js';
import { startSmtpCapture, type SmtpCapture, emailFailure } from '../../support/smtp.js';
import { captureLogs } from './log-capture.js';
import { completedSubject } from '../../support/subjects.js';

const PASSWORD = 'smtp-secret-p4ss';
const FROM = 'Refunds <refunds@shop.example>';
const templates = loadTemplates();
const logs = captureLogs();

let smtp: SmtpCapture;
const mailers: Mailer[] = [];

function mailer(settings: { pool?: boolean; smtpUrl?: string; timeoutMs?: number } = {}): Mailer {
  const m = createMailer({ smtpUrl: smtp.url, from: FROM, ...settings }, { logger: logs.logger });
  mailers.push(m);
  return m;
}

const completed = completedSubject;

const failure = emailFailure;

beforeAll(async () => {
  smtp = await startSmtpCapture({ auth: { user: 'notifier', pass: PASSWORD } });
});
afterEach(async () => {
  await Promise.all(mailers.splice(0).map((m) => m.close()));
  smtp.messages.length = 0;
  smtp.envelopes.length = 0;
});
afterAll(async () => {
  await smtp.close();
  const text = logs.text();
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain('jane.doe@example.com');
});

describe('mailer over a real SMTP server', () => {
  it('delivers the customer email: subject, both parts, recipient, sender and a fixed Message-ID', async () => {
    const m = mailer();
    await m.verify();
    const email = renderCustomerCompleted(completed(), templates);
    const messageId = messageIdFor('R-1:customer:customer-completed', FROM);
    const sent = await m.send({ to: 'jane.doe@example.com', ...email, messageId, headers: { 'X-Refund-Id': 'R-1' } });
    expect(sent.messageId).toBe(messageId);

    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.subject).toBe('Your refund of $12.50 is complete');
    expect(mail.messageId).toBe(messageId);
    expect(mail.from?.value).toEqual([{ address: 'refunds@shop.example', name: 'Refunds' }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : []).toEqual([{ address: 'jane.doe@example.com', name: '' }]);
    expect(smtp.envelopes[0]).toEqual({ from: 'refunds@shop.example', to: ['jane.doe@example.com'] });
    expect(mail.headers.get('x-refund-id')).toBe('R-1');
    expect(mail.text).toContain('Hello Jane,');
    expect(mail.text).toContain('Refund ID: R-1');
    expect(mail.html).toContain('<strong><bdi class="amount">$12.50</bdi></strong>');
    // The log names the recipient only masked.
    expect(logs.text()).toContain('j***@e***.com');
  });

  it('keeps a hostile <script> name escaped in the HTML part and verbatim in the text part', async () => {
    const name = '<script>alert(1)</script>';
    await mailer().send({ to: 'x@example.com', ...renderCustomerCompleted(completed({ customer: { name, locale: 'en' } }), templates) });
    const mail = smtp.messages[0]!;
    expect(mail.html).toContain('Hello <bdi>&lt;script&gt;alert(1)&lt;/script&gt;</bdi>,');
    expect(mail.html).not.toContain('<script>');
    expect(mail.text).toContain(`Hello ${name},`);
  });

  it('delivers localised emails with zero- and three-decimal amounts intact through SMTP encoding', async () => {
    const m = mailer();
    await m.send({
      to: 'yamada@example.jp',
      ...renderCustomerCompleted(completed({ customer: { name: '山田', locale: 'ja' }, refundAmount: { currency: 'JPY', value: '1250' } }), templates),
    });
    await m.send({
      to: 'zoe@example.fr',
      ...renderCustomerCompleted(completed({ customer: { name: 'Zoé', locale: 'fr-FR' }, refundAmount: { currency: 'KWD', value: '1250' } }), templates),
    });
    const [ja, fr] = smtp.messages;
    expect(ja!.subject).toBe('返金（￥1,250）が完了しました');
    expect(ja!.text).toContain('山田 様');
    expect(ja!.html).toContain('<html lang="ja">');
    expect(fr!.subject).toBe('Votre remboursement de 1,250\u00a0KWD est effectué');
    expect(fr!.text).toContain('Bonjour Zoé,');
  });

  it('sends the operations email for a group', async () => {
    const refunds = Array.from({ length: 3 }, (_, i) => ({ refundKey: `R-${i}`, paymentId: `P-${i}`, refundAmount: { currency: 'USD', value: '100' }, detectedAt: Date.UTC(2024, 10, 25, 16) + i }));
    const content = escalationGroupContent({ key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] }, playbook: 'Ask Antom.', refunds, windowStart: refunds[0]!.detectedAt, windowEnd: refunds[2]!.detectedAt });
    await mailer().send({ to: ['oncall@example.com', 'finance@example.com'], ...renderEscalationEmail(content, templates) });
    const mail = smtp.messages[0]!;
    expect(mail.subject).toBe('[refund-notifier] Escalation: 3 refunds failed with RISK_REJECT');
    expect(smtp.envelopes[0]!.to).toEqual(['oncall@example.com', 'finance@example.com']);
    expect(mail.text).toContain('What to do: Ask Antom.');
    expect(mail.text).toContain('Total: $3.00');
  });

  it('sends many over a few pooled connections', async () => {
    const before = smtp.connections();
    const m = mailer();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        m.send({
          to: `c${i}@example.com`,
          messageId: messageIdFor(`R-${i}:customer:customer-completed`, FROM),
          ...renderCustomerCompleted(completed({ refundKey: `R-${i}`, refundId: `R-${i}` }), templates),
        }),
      ),
    );
    expect(new Set(results.map((r) => r.messageId)).size).toBe(200);
    expect(smtp.messages).toHaveLength(200);
    expect(new Set(smtp.messages.map((mail) => mail.messageId)).size).toBe(200);
    // nodemailer's default pool: five connections at most.
    expect(smtp.connections() - before).toBeLessThanOrEqual(5);
  });

  it('opens a connection per message without pooling', async () => {
    const before = smtp.connections();
    const m = mailer({ pool: false });
    for (let i = 0; i < 3; i += 1) await m.send({ to: 'a@example.com', subject: 's', text: 't', html: '<p>t</p>' });
    expect(smtp.connections() - before).toBe(3);
  });

  it('maps a 4xx reply to a retriable error and a 5xx reply to a permanent one, and keeps going', async () => {
    const m = mailer();
    smtp.failNext(1, 451);
    const transient = await failure(m.send({ to: 'jane.doe@example.com', subject: 's', text: 't', html: 't' }));
    expect(transient).toMatchObject({ retriable: true, responseCode: 451, code: 'SMTP_EMESSAGE', inDoubt: false });
    smtp.failNext(1, 554, 'Message rejected for jane.doe@example.com');
    const permanent = await failure(m.send({ to: 'jane.doe@example.com', subject: 's', text: 't', html: 't' }));
    expect(permanent).toMatchObject({ retriable: false, responseCode: 554, inDoubt: false });
    // The server's reply is kept, the address in it masked.
    expect(permanent.message).toContain('j***@e***.com');
    expect(permanent.message).not.toContain('jane.doe@example.com');
    await m.send({ to: 'jane.doe@example.com', subject: 'after', text: 't', html: 't' });
    await until(() => smtp.messages.length === 1, { message: 'the send after the failures to arrive' });
    expect(smtp.messages[0]!.subject).toBe('after');
  });

  it('reports bad credentials as permanent, without the password', async () => {
    const wrong = smtp.url.replace(PASSWORD, 'wrong-password');
    const error = await failure(mailer({ smtpUrl: wrong }).send({ to: 'a@example.com', subject: 's', text: 't', html: 't' }));
    expect(error).toMatchObject({ retriable: false, code: 'SMTP_EAUTH', responseCode: 535 });
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain('wrong-password');
  });

  it('reports an unreachable server as retriable, from send and from verify', async () => {
    const gone = await startSmtpCapture();
    const url = gone.url;
    await gone.close();
    const m = mailer({ smtpUrl: url, timeoutMs: 2_000 });
    const error = await failure(m.send({ to: 'a@example.com', subject: 's', text: 't', html: 't' }));
    expect(error).toMatchObject({ retriable: true, inDoubt: false });
    expect(error.code).toMatch(/^SMTP_(ECONNECTION|ESOCKET|ECONNREFUSED)$/);
    expect(error.message).toContain('ECONNREFUSED');
    expect(await failure(m.verify())).toMatchObject({ retriable: true });
  });

  it('gives up on a server that accepts but never greets, as a retriable timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const { port } = silent.address() as AddressInfo;
    const error = await failure(mailer({ smtpUrl: `smtp://127.0.0.1:${port}`, timeoutMs: 300 }).send({ to: 'a@example.com', subject: 's', text: 't', html: 't' }));
    expect(error).toMatchObject({ retriable: true, code: 'SMTP_ETIMEDOUT', inDoubt: false });
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('closes once, after sends in flight, and refuses sends after', async () => {
    const m = mailer();
    const sending = m.send({ to: 'a@example.com', subject: 'in flight', text: 't', html: 't' });
    const closed = m.close();
    expect(m.close()).toBe(closed);
    await sending;
    await closed;
    expect(smtp.messages.map((mail) => mail.subject)).toEqual(['in flight']);
    expect(await failure(m.send({ to: 'a@example.com', subject: 's', text: 't', html: 't' }))).toMatchObject({ code: 'EMAIL_CLOSED' });
  });

  it('speaks TLS over its own socket, and logs in inside it: smtps (implicit TLS) and STARTTLS', async () => {
    // The mailer opens the TCP connection itself (Nagle off) and makes the TLS handshake on it,
    // after negotiating STARTTLS itself where nodemailer would; nodemailer then logs in and sends
    // inside TLS. A throwaway self-signed certificate from openssl.
    const dir = mkdtempSync(join(tmpdir(), 'smtp-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    // `starttls` is production's usual smtp://host:587: STARTTLS taken because it is offered.
    for (const mode of ['smtps', 'starttls', 'starttls-required'] as const) {
      const received: boolean[] = [];
      const server = new SMTPServer({
        secure: mode === 'smtps',
        key: readFileSync(join(dir, 'key.pem')),
        cert: readFileSync(join(dir, 'cert.pem')),
        // AUTH required, and (smtp-server's default) refused before TLS.
        authMethods: ['PLAIN', 'LOGIN'],
        onAuth(auth, _session, callback) {
          if (auth.username === 'notifier' && auth.password === PASSWORD) return callback(null, { user: auth.username });
          return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
        },
        logger: false,
        disableReverseLookup: true,
        onData(stream, session, callback) {
          stream.resume();
          stream.on('end', () => {
            received.push(session.secure);
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
      const url = {
        smtps: `smtps://notifier:${PASSWORD}@127.0.0.1:${port}?tls.rejectUnauthorized=false`,
        starttls: `smtp://notifier:${PASSWORD}@127.0.0.1:${port}?tls.rejectUnauthorized=false`,
        'starttls-required': `smtp://notifier:${PASSWORD}@127.0.0.1:${port}?requireTLS=true&tls.rejectUnauthorized=false`,
      }[mode];
      const m = mailer({ smtpUrl: url });
      await m.verify();
      await m.send({ to: 'a@example.com', subject: mode, text: 't', html: 't' });
      expect(received).toEqual([true]);
      await Promise.all(mailers.splice(0).map((m) => m.close()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('saves what it receives as .eml and .html when asked (what the demo shows)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-saved-'));
    const saving = await startSmtpCapture({ saveDir: dir });
    try {
      await mailer({ smtpUrl: saving.url }).send({ to: 'a@example.com', ...renderCustomerCompleted(completed(), templates) });
      expect(readdirSync(dir).sort()).toEqual(['0001-your-refund-of-12-50-is-complete.eml', '0001-your-refund-of-12-50-is-complete.html']);
      expect(readFileSync(join(dir, '0001-your-refund-of-12-50-is-complete.html'), 'utf8')).toContain('<strong><bdi class="amount">$12.50</bdi></strong>');
    } finally {
      await Promise.all(mailers.splice(0).map((m) => m.close()));
      await saving.close();
    }
  });

  it('derives the same Message-ID from the same dedupe key', () => {
    const a = messageIdFor('R-1:customer:customer-completed', FROM);
    expect(a).toMatch(/^<[0-9a-f]{32}\.refund-notifier@shop\.example>$/);
    expect(messageIdFor('R-1:customer:customer-completed', 'refunds@shop.example')).toBe(a);
    expect(messageIdFor('R-2:customer:customer-completed', FROM)).not.toBe(a);
    expect(messageIdFor('k', 'not an address')).toMatch(/@refund-notifier\.invalid>$/);
  });
});
