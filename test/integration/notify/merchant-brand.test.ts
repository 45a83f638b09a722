import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, type Mailer } from '../../../src/adapters/email/mailer.js';
import { DEFAULT_ACCENT_COLOR } from '../../../src/adapters/email/render.js';
import { CUSTOMER_CHANNEL } from '../../../src/app/notify/vocabulary.js';
import { loadMerchants } from '../../../src/config/merchants.js';
import { newRefund } from '../../contract/refund-store.contract.js';
import { TEST_EMAIL_FROM, createTestApp, type TestApp } from '../../support/app-fixtures.js';
import { splitMessage, verifyDkim } from '../../support/dkim.js';
import { startSmtpCapture, type ReceivedMessage, type SmtpCapture } from '../../support/smtp.js';
import { captureLogs } from './log-capture.js';

/**
 * Issue 15, item 3 (docs/notifications.md, "The merchant's brand"), through a real SMTP server:
 * three refunds complete, of two merchants listed in merchants.yaml and of one that is not. Each
 * listed merchant's customer gets an email from that merchant (From, Reply-To, a Message-ID on its
 * domain, its name, logo and accent), DKIM-signed by the service's domain, which the merchants'
 * senders are subdomains of; the unlisted merchant's customer gets the service's defaults.
 */
const DKIM_DOMAIN = 'example.com'; // TEST_EMAIL_FROM's domain
const SELECTOR = 'brands2025';
const MERCHANTS = `# as an operator writes it (docs/notifications.md)
merchants:
  M-ACME:
    displayName: Acme Store
    from: '"Acme Store" <refunds@acme.example.com>'
    replyTo: Acme Support <support@acme.example>
    supportEmail: support@acme.example
    supportUrl: https://acme.example/help
    supportPhone: +1 (555) 010-0199
    logoUrl: https://cdn.acme.example/logo.png
    accentColor: '#b3261e'
  M-GLOBEX:
    displayName: Globex
    from: Globex Refunds <refunds@globex.example.com>
    replyTo: help@globex.example
    logoUrl: https://globex.example/brand/logo.svg
    accentColor: '#1a5e20'
`;

const logs = captureLogs();
let smtp: SmtpCapture;
let keyFile: string;
let keyRecord: string;
let configDir: string;
let mailer: Mailer | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  const dir = mkdtempSync(join(tmpdir(), 'rn-brand-'));
  keyFile = join(dir, 'dkim-private.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile], { stdio: 'ignore' });
  const publicKey = execFileSync('sh', ['-c', 'openssl pkey -in dkim-private.pem -pubout -outform DER | openssl base64 -A'], { cwd: dir }).toString().trim();
  keyRecord = `v=DKIM1; k=rsa; p=${publicKey}`;
  configDir = join(dir, 'config');
  mkdirSync(configDir);
  writeFileSync(join(configDir, 'merchants.yaml'), MERCHANTS);
});
afterEach(async () => {
  await app?.close();
  await mailer?.close();
  app = undefined;
  mailer = undefined;
});
afterAll(async () => {
  await smtp.close();
});

/** A header of a raw message, unfolded. */
function header(message: ReceivedMessage, name: string): string | undefined {
  const field = splitMessage(message.raw).fields.find((f) => f.name === name.toLowerCase());
  return field?.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n[ \t]+/g, ' ').trim();
}

async function received(): Promise<Map<string, { raw: ReceivedMessage; mail: ParsedMail }>> {
  const byRecipient = new Map<string, { raw: ReceivedMessage; mail: ParsedMail }>();
  for (const raw of smtp.received) {
    const to = header(raw, 'To');
    if (to) byRecipient.set(to, { raw, mail: await simpleParser(raw.raw) });
  }
  return byRecipient;
}

describe("the merchant's brand on the customer email, over a real SMTP server", () => {
  it('two listed merchants and an unlisted one: From, Reply-To, Message-ID, name, logo and accent each; defaults for the unlisted; DKIM verifies', async () => {
    // The directory as the service loads it at startup: from CONFIG_DIR, checked against the DKIM domain.
    const merchants = loadMerchants(configDir, { dkimDomain: DKIM_DOMAIN });
    mailer = createMailer(
      { smtpUrl: smtp.url, from: TEST_EMAIL_FROM, dkim: { domain: DKIM_DOMAIN, selector: SELECTOR, privateKey: readFileSync(keyFile, 'utf8') } },
      { logger: logs.logger },
    );
    app = await createTestApp({ emailPort: mailer, merchants });
    await app.track(newRefund(1, { merchantAccountId: 'M-ACME' }), newRefund(2, { merchantAccountId: 'M-GLOBEX' }), newRefund(3, { merchantAccountId: 'M-UNLISTED' }));
    for (const n of [1, 2, 3]) await app.complete(n);
    await app.dispatch();

    const customer = (await app.outbox({ kind: 'delivery' })).filter((e) => e.channel === CUSTOMER_CHANNEL);
    expect(customer.map((e) => e.status)).toEqual(['sent', 'sent', 'sent']);
    const byRecipient = await received();
    const acme = byRecipient.get('c1@example.com')!;
    const globex = byRecipient.get('c2@example.com')!;
    const unlisted = byRecipient.get('c3@example.com')!;

    expect(acme.mail.from?.value).toEqual([{ address: 'refunds@acme.example.com', name: 'Acme Store' }]);
    expect(acme.mail.replyTo?.value).toEqual([{ address: 'support@acme.example', name: 'Acme Support' }]);
    expect(header(acme.raw, 'Message-ID')).toMatch(/^<[0-9a-f]{32}\.refund-notifier@acme\.example\.com>$/);
    expect(acme.mail.subject).toBe('Your refund of $10.01 from Acme Store is complete');
    expect(acme.mail.html).toContain('<img src="https://cdn.acme.example/logo.png" alt="Acme Store" height="40"');
    expect(acme.mail.html).toContain('border-bottom:4px solid #b3261e;');
    expect(acme.mail.html).toContain('<a href="mailto:support@acme.example" style="color:#b3261e;">');
    expect(acme.mail.text).toContain('Phone: +1 (555) 010-0199');
    expect(acme.mail.text).toContain('The Acme Store team');

    expect(globex.mail.from?.value).toEqual([{ address: 'refunds@globex.example.com', name: 'Globex Refunds' }]);
    expect(globex.mail.replyTo?.value).toEqual([{ address: 'help@globex.example', name: '' }]);
    expect(header(globex.raw, 'Message-ID')).toMatch(/@globex\.example\.com>$/);
    expect(globex.mail.subject).toBe('Your refund of $10.02 from Globex is complete');
    expect(globex.mail.html).toContain('<img src="https://globex.example/brand/logo.svg" alt="Globex"');
    expect(globex.mail.html).toContain('border-bottom:4px solid #1a5e20;');
    // No support contact given: the customer is told to reply, which reaches help@globex.example.
    expect(globex.mail.text).toContain('reply to this email and quote the refund ID.');

    expect(unlisted.mail.from?.value).toEqual([{ address: 'refunds@example.com', name: 'Refunds' }]);
    expect(unlisted.mail.replyTo).toBeUndefined();
    expect(header(unlisted.raw, 'Reply-To')).toBeUndefined();
    expect(header(unlisted.raw, 'Message-ID')).toMatch(/@example\.com>$/);
    expect(unlisted.mail.subject).toBe('Your refund of $10.03 is complete');
    expect(unlisted.mail.html).not.toContain('<img');
    expect(unlisted.mail.html).toContain(`border-bottom:4px solid ${DEFAULT_ACCENT_COLOR};`);
    expect(unlisted.mail.text).toContain('The Refunds team');

    // The SMTP envelope sender is the merchant's too (bounces go to its address).
    expect(smtp.envelopes.map((e) => e.from).sort()).toEqual(['refunds@acme.example.com', 'refunds@example.com', 'refunds@globex.example.com']);
    // Signed d=example.com, which the merchants' subdomains align with under relaxed DMARC alignment.
    const dns = (name: string) => (name === `${SELECTOR}._domainkey.${DKIM_DOMAIN}` ? keyRecord : undefined);
    for (const { raw } of [acme, globex, unlisted]) {
      const result = verifyDkim(raw.raw, dns);
      expect(result, result.ok ? '' : result.reason).toMatchObject({ ok: true, signature: { domain: DKIM_DOMAIN } });
    }
  });
});
