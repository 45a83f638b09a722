import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParsedMail } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, messageIdFor, type Mailer } from '../../../src/adapters/email/mailer.js';
import { renderCustomerCompleted, renderEscalationEmail } from '../../../src/adapters/email/render.js';
import { loadTemplates } from '../../../src/adapters/email/templates.js';
import { CUSTOMER_CHANNEL } from '../../../src/app/notify/vocabulary.js';
import { mailerSettings } from '../../../src/composition/settings.js';
import { loadConfig } from '../../../src/config/load.js';
import { escalationGroupContent } from '../../../src/domain/notification-content.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';
import { createTestApp, refundKey, type TestApp } from '../../support/app-fixtures.js';
import { splitMessage, verifyDkim } from '../../support/dkim.js';
import { startSmtpCapture, type ReceivedMessage, type SmtpCapture } from '../../support/smtp.js';
import { captureLogs } from './log-capture.js';
import { completedSubject } from '../../support/subjects.js';

/**
 * Issue 15, item 4 (docs/notifications.md, "Deliverability"): through a real SMTP server, every
 * email is DKIM-signed with the configured domain and selector, and the signature verifies against
 * the key record an operator publishes, made with the commands the docs give; the Message-ID is
 * on the From domain and the same when a delivery is retried; every email says it was
 * automatically generated; and the text part reads on its own.
 */
const FROM = 'Acme Refunds <refunds@mail.acme.example>';
const DOMAIN = 'acme.example';
const SELECTOR = 'refunds2025';
const templates = loadTemplates();
const logs = captureLogs();

let smtp: SmtpCapture;
let keyFile: string;
/** The TXT record at <selector>._domainkey.<domain>, as docs/notifications.md says to publish it. */
let keyRecord: string;
const mailers: Mailer[] = [];

/** DNS, as the receiver would ask it: only the record the operator published. */
const dns = (published: Record<string, string>) => (name: string) => published[name];

/** The mailer as the service builds it: from the settings, the key read from its file. */
function mailerFromSettings(env: Record<string, string>): Mailer {
  const config = loadConfig({ env: { CONFIG_DIR: join(import.meta.dirname, '../../../config'), SMTP_URL: smtp.url, ...env } });
  const settings = mailerSettings(config.values);
  if (!settings) throw new Error('email is off');
  const mailer = createMailer(settings, { logger: logs.logger });
  mailers.push(mailer);
  return mailer;
}

const signing = () => ({ EMAIL_FROM: FROM, EMAIL_DKIM_DOMAIN: DOMAIN, EMAIL_DKIM_SELECTOR: SELECTOR, EMAIL_DKIM_PRIVATE_KEY_FILE: keyFile });

function completed(overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return completedSubject({
    refundAmount: { currency: 'EUR', value: '123456' },
    customer: { email: 'jane.doe@example.com', name: 'Jane O\'Brien & Co', locale: 'de-AT' },
    refundTime: '2025-03-04T10:00:00Z',
    detectedAt: Date.UTC(2025, 2, 4, 10),
    metadata: { orderId: 'A-77' },
    ...overrides,
  });
}

/** A header of a raw message, unfolded (the first one of that name). */
function header(message: ReceivedMessage, name: string): string | undefined {
  const field = splitMessage(message.raw).fields.find((f) => f.name === name.toLowerCase());
  return field?.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n[ \t]+/g, ' ').trim();
}

beforeAll(async () => {
  smtp = await startSmtpCapture();
  // The key made and its DNS record extracted exactly as docs/notifications.md tells an operator.
  const dir = mkdtempSync(join(tmpdir(), 'rn-dkim-'));
  keyFile = join(dir, 'dkim-private.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile], { stdio: 'ignore' });
  const publicKey = execFileSync('sh', ['-c', 'openssl pkey -in dkim-private.pem -pubout -outform DER | openssl base64 -A'], { cwd: dir }).toString().trim();
  keyRecord = `v=DKIM1; k=rsa; p=${publicKey}`;
});
afterEach(async () => {
  await Promise.all(mailers.splice(0).map((m) => m.close()));
  smtp.messages.length = 0;
  smtp.envelopes.length = 0;
  smtp.received.length = 0;
});
afterAll(async () => {
  await smtp.close();
  // The key is a secret: never logged, whatever the level.
  expect(logs.text()).not.toMatch(/BEGIN PRIVATE KEY|MII[A-Za-z0-9+/]{20}/);
});

describe('DKIM over a real SMTP server', () => {
  it('signs the customer and the operations email with d= and s= as configured; the signature verifies against the published key', async () => {
    const mailer = mailerFromSettings(signing());
    await mailer.send({ to: 'jane.doe@example.com', ...renderCustomerCompleted(completed(), templates), messageId: messageIdFor('R-1:customer', FROM) });
    await mailer.send({ to: ['ops@acme.example'], ...renderEscalationEmail(escalationGroupContent(group()), templates) });

    expect(smtp.received).toHaveLength(2);
    for (const message of smtp.received) {
      const result = verifyDkim(message.raw, dns({ [`${SELECTOR}._domainkey.${DOMAIN}`]: keyRecord }));
      expect(result, result.ok ? '' : result.reason).toMatchObject({ ok: true });
      const { signature } = result as Extract<typeof result, { ok: true }>;
      expect(signature.domain).toBe(DOMAIN);
      expect(signature.selector).toBe(SELECTOR);
      expect(signature.tags).toMatchObject({ a: 'rsa-sha256', c: 'relaxed/relaxed' });
      expect(signature.signedHeaders).toEqual(expect.arrayContaining(['from', 'to', 'subject', 'date', 'message-id', 'content-type', 'mime-version']));
    }
    expect(logs.text()).toMatch(/"dkimDomain":"acme\.example","dkimSelector":"refunds2025","keyBits":2048,"msg":"emails are DKIM-signed"/);
  });

  it('a signature that verifies is not a verifier that accepts anything: an altered subject, an altered body or another key fail', async () => {
    const mailer = mailerFromSettings(signing());
    await mailer.send({ to: 'jane.doe@example.com', ...renderCustomerCompleted(completed(), templates) });
    const raw = smtp.received[0]!.raw.toString('latin1');
    const published = dns({ [`${SELECTOR}._domainkey.${DOMAIN}`]: keyRecord });
    expect(verifyDkim(raw, published)).toMatchObject({ ok: true });

    // Whitespace is what relaxed canonicalization forgives; a changed word is not.
    expect(verifyDkim(raw.replace(/^Subject: /m, 'Subject:   '), published)).toMatchObject({ ok: true });
    expect(verifyDkim(raw.replace(/^(Subject: .*)$/m, '$1 (forwarded)'), published)).toMatchObject({
      ok: false,
      reason: 'the signature does not verify against the published key',
    });
    const body = raw.indexOf('\r\n\r\n');
    expect(verifyDkim(`${raw.slice(0, body)}\r\n\r\nPay here instead.\r\n${raw.slice(body + 4)}`, published)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^body hash mismatch/),
    });
    const other = execFileSync('sh', ['-c', 'openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 | openssl pkey -pubout -outform DER | openssl base64 -A'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    expect(verifyDkim(raw, dns({ [`${SELECTOR}._domainkey.${DOMAIN}`]: `v=DKIM1; k=rsa; p=${other}` }))).toMatchObject({ ok: false });
    expect(verifyDkim(raw, dns({}))).toMatchObject({ ok: false, reason: `no key record at ${SELECTOR}._domainkey.${DOMAIN}` });
  });

  it('sends unsigned when DKIM is not configured', async () => {
    const mailer = mailerFromSettings({ EMAIL_FROM: FROM });
    await mailer.send({ to: 'jane.doe@example.com', ...renderCustomerCompleted(completed(), templates) });
    expect(header(smtp.received[0]!, 'DKIM-Signature')).toBeUndefined();
  });
});

describe('headers and the text part', () => {
  it('puts the Message-ID on the From domain, given or not, and marks every email as automatic (RFC 3834, and for Exchange)', async () => {
    const mailer = mailerFromSettings(signing());
    await mailer.send({ to: 'jane.doe@example.com', ...renderCustomerCompleted(completed(), templates), messageId: messageIdFor('R-1:customer', FROM) });
    await mailer.send({ to: ['ops@acme.example'], ...renderEscalationEmail(escalationGroupContent(group()), templates) });
    const [customer, ops] = smtp.received;
    expect(header(customer!, 'Message-ID')).toMatch(/^<[0-9a-f]{32}\.refund-notifier@mail\.acme\.example>$/);
    expect(header(customer!, 'Message-ID')).toBe(messageIdFor('R-1:customer', FROM));
    // Without a delivery's key (never the case in the service): random, on the same domain.
    expect(header(ops!, 'Message-ID')).toMatch(/^<[0-9a-f-]{36}@mail\.acme\.example>$/);
    for (const message of smtp.received) {
      expect(header(message, 'Auto-Submitted')).toBe('auto-generated');
      expect(header(message, 'X-Auto-Response-Suppress')).toBe('OOF, AutoReply');
    }
  });

  it('sends a text part beside the HTML that reads on its own: no markup, the same amount, ids and date', async () => {
    const mailer = mailerFromSettings(signing());
    const rendered = renderCustomerCompleted(completed(), templates);
    await mailer.send({ to: 'jane.doe@example.com', ...rendered });
    const mail: ParsedMail = smtp.messages[0]!;
    expect(header(smtp.received[0]!, 'Content-Type')).toMatch(/^multipart\/alternative;/);
    const text = mail.text ?? '';
    expect(text).not.toMatch(/<\/?[a-z][a-z0-9]*[\s>/]/i);
    expect(text).not.toMatch(/&(?:#\d+|#x[0-9a-f]+|[a-z]+);/i);
    // de-AT: the amount as the HTML part shows it, ids and date, and the name verbatim.
    for (const shown of ['€\u00a01.234,56', 'A-77', 'R-1', '4. März 2025', "Jane O'Brien & Co"]) {
      expect(text).toContain(shown);
      expect(mail.html).toContain(shown.replace(/&/g, '&amp;').replace(/'/g, '&#39;'));
    }
  });
});

describe('a retried delivery', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  it('carries the same Message-ID (and a valid signature) on every attempt: the SMTP server refused it once with 451, the outbox sent it again', async () => {
    // The test app renders Message-IDs for refunds@example.com: the mailer signs for that domain.
    const mailer = mailerFromSettings({ ...signing(), EMAIL_FROM: 'Refunds <refunds@example.com>', EMAIL_DKIM_DOMAIN: 'example.com' });
    app = await createTestApp({ emailPort: mailer });
    await app.track(1);
    await app.complete(1);
    smtp.failNext(1, 451, '4.3.0 try again later');

    // Dispatcher passes in fake time, each as soon as the outbox has something due, until nothing is.
    for (let pass = 0; pass < 20; pass += 1) {
      await app.dispatch();
      const next = await app.nextDueAt();
      if (next === undefined) break;
      app.clock.set(Math.max(app.clock.now(), next));
    }
    const customer = smtp.received.filter((m) => header(m, 'To') === 'c1@example.com');
    expect(customer.map((m) => m.reply)).toEqual([451, 250]);
    const [refused, accepted] = customer.map((m) => header(m, 'Message-ID'));
    expect(refused).toMatch(/^<[0-9a-f]{32}\.refund-notifier@example\.com>$/);
    expect(accepted).toBe(refused);
    const entry = (await app.outbox({ kind: 'delivery' })).find((e) => e.channel === CUSTOMER_CHANNEL)!;
    expect(entry).toMatchObject({ status: 'sent', attempts: 2 });
    expect(entry.refundKey).toBe(refundKey(1));
    for (const message of customer) {
      expect(verifyDkim(message.raw, dns({ [`${SELECTOR}._domainkey.example.com`]: keyRecord }))).toMatchObject({ ok: true });
    }
  });
});

function group(): Parameters<typeof escalationGroupContent>[0] {
  const refunds = [1, 2].map((n) => ({ refundKey: `R-${n}`, paymentId: `P-${n}`, refundAmount: { currency: 'EUR', value: `${n}000` }, detectedAt: Date.UTC(2025, 2, 4, 10, n) }));
  return { key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] }, playbook: 'Ask Antom.', refunds, windowStart: refunds[0]!.detectedAt, windowEnd: refunds[1]!.detectedAt };
}
