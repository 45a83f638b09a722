import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer } from '../../../src/adapters/email/mailer.js';
import { renderCustomerCompleted } from '../../../src/adapters/email/render.js';
import { loadTemplates } from '../../../src/adapters/email/templates.js';
import { createLogger } from '../../../src/adapters/log/logger.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';
import { recipients, serviceEmailing, type EmailingService } from '../../support/customer-emails.js';
import { until } from '../../support/kafka.js';
import { channelId } from '../../support/slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from '../../support/smtp.js';

/**
 * Issue 11: Antom counts IDR and HUF in hundredths and IQD in thousandths (ISO 4217), where CLDR
 * (and so Intl) shows them without decimals. A real customer email, sent over SMTP by the service
 * after Antom said SUCCESS, must carry the amount Antom refunded, in both its parts.
 */
const TOKEN = 'xoxb-amounts-test';
const ADMIN = 'admin-amounts-test';

const CUSTOMERS = [
  // The Indonesian template, formatted in Indonesian (operations read English).
  { id: 'AMT-IDR', amount: { currency: 'IDR', value: '1000000' }, email: 'budi@example.id', locale: 'id-ID', shown: 'Rp\u00a010.000,00', ops: 'IDR\u00a010,000.00' },
  // Austrian German puts the code first.
  { id: 'AMT-HUF', amount: { currency: 'HUF', value: '1234550' }, email: 'anna@example.hu', locale: 'de-AT', shown: 'HUF\u00a012.345,50', ops: 'HUF\u00a012,345.50' },
  { id: 'AMT-IQD', amount: { currency: 'IQD', value: '1500250' }, email: 'ali@example.iq', locale: 'fr-FR', shown: '1\u202f500,250\u00a0IQD', ops: 'IQD\u00a01,500.250' },
] as const;

describe('customer emails over SMTP carry ISO 4217 amounts (IDR, HUF, IQD)', () => {
  let run: EmailingService;

  beforeAll(async () => {
    run = await serviceEmailing('amounts', CUSTOMERS.map((c) => ({ ...c, name: 'Kim' })), { slackToken: TOKEN, env: { ADMIN_TOKEN: ADMIN } });
  });

  afterAll(async () => {
    await run?.close();
  });

  it('the service emails each customer the refunded amount, in the text and the HTML part', async () => {
    await until(() => CUSTOMERS.every((c) => run.to(c.email).length > 0), { timeoutMs: 30_000, message: 'three customer emails' });
    for (const c of CUSTOMERS) {
      const mail = run.to(c.email);
      expect(mail, c.id).toHaveLength(1);
      const { subject, text, html } = mail[0]!;
      expect(subject, c.id).toContain(c.shown);
      expect(text, c.id).toContain(c.shown);
      expect(html || '', c.id).toContain(`<strong><bdi class="amount">${c.shown}</bdi></strong>`);
    }
    // What CLDR's digits made of them before: a hundred (IDR, HUF) and a thousand (IQD) times too much.
    const all = run.smtp.messages.map((m) => `${m.subject}\n${m.text}\n${m.html || ''}`).join('\n');
    for (const wrong of ['IDR\u00a01,000,000', 'HUF\u00a01.234.550', '1\u202f500\u202f250\u00a0IQD']) expect(all).not.toContain(wrong);
  });

  it('the ops line in Slack and the admin API show the same amounts', async () => {
    const ops = () => run.slack.messages().filter((m) => m.channel === channelId('#refunds'));
    await until(() => CUSTOMERS.every((c) => ops().some((m) => m.text.includes(c.id))), { timeoutMs: 30_000, message: 'three ops lines' });
    for (const c of CUSTOMERS) {
      expect(ops().find((m) => m.text.includes(c.id))!.text).toBe(`Refund ${c.id} completed (${c.ops}), payment P-${c.id}`);
      const res = await fetch(`${run.adminUrl}/admin/refunds/${c.id}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const body = (await res.json()) as { refund: { refundAmount: unknown } };
      expect(body.refund.refundAmount).toEqual({ ...c.amount, formatted: c.ops });
    }
  });
});

describe('the mailer keeps ISO amounts intact through SMTP encoding, in every shipped locale', () => {
  const templates = loadTemplates();
  let smtp: SmtpCapture;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
  });
  afterAll(async () => {
    await smtp?.close();
  });

  it('IDR, HUF and IQD in en, es, fr, de, ja, id, ko and ar', async () => {
    // Arabic in Latin digits, between the RLM marks CLDR puts around an Arabic amount.
    const expected: Record<string, Record<string, string>> = {
      IDR: {
        en: 'IDR\u00a010,000.00',
        es: '10.000,00\u00a0IDR',
        fr: '10\u202f000,00\u00a0IDR',
        de: '10.000,00\u00a0IDR',
        ja: 'IDR\u00a010,000.00',
        id: 'Rp\u00a010.000,00',
        ko: 'IDR\u00a010,000.00',
        ar: '\u200f10,000.00\u00a0IDR',
      },
      HUF: {
        en: 'HUF\u00a012,345.50',
        es: '12.345,50\u00a0HUF',
        fr: '12\u202f345,50\u00a0HUF',
        de: '12.345,50\u00a0HUF',
        ja: 'HUF\u00a012,345.50',
        id: 'HUF\u00a012.345,50',
        ko: 'HUF\u00a012,345.50',
        ar: '\u200f12,345.50\u00a0HUF',
      },
      IQD: {
        en: 'IQD\u00a01,500.250',
        es: '1500,250\u00a0IQD',
        fr: '1\u202f500,250\u00a0IQD',
        de: '1.500,250\u00a0IQD',
        ja: 'IQD\u00a01,500.250',
        id: 'IQD\u00a01.500,250',
        ko: 'IQD\u00a01,500.250',
        ar: '\u200f1,500.250\u00a0د.ع.\u200f',
      },
    };
    const values: Record<string, string> = { IDR: '1000000', HUF: '1234550', IQD: '1500250' };
    const silent = createLogger({ level: 'silent' });
    const mailer = createMailer({ smtpUrl: smtp.url, from: 'Refunds <refunds@shop.example>' }, { logger: silent });
    try {
      for (const [currency, byLocale] of Object.entries(expected)) {
        for (const locale of Object.keys(byLocale)) {
          const subject: NotificationSubject = {
            event: 'refund.completed',
            refundKey: `R-${currency}-${locale}`,
            refundId: `R-${currency}-${locale}`,
            paymentId: 'P-1',
            status: 'SUCCESS',
            refundAmount: { currency, value: values[currency]! },
            customer: { email: `${currency}.${locale}@example.com`.toLowerCase(), locale },
            refundTime: '2024-11-25T16:00:00Z',
            detectedAt: Date.UTC(2024, 10, 25, 16),
          };
          await mailer.send({ to: subject.customer!.email!, ...renderCustomerCompleted(subject, templates) });
        }
      }
    } finally {
      await mailer.close();
    }
    expect(smtp.messages).toHaveLength(24);
    for (const [currency, byLocale] of Object.entries(expected)) {
      for (const [locale, shown] of Object.entries(byLocale)) {
        const mail = smtp.messages.find((m) => recipients(m).includes(`${currency}.${locale}@example.com`.toLowerCase()))!;
        expect(mail.subject, `${currency} ${locale}`).toContain(shown);
        expect(mail.text, `${currency} ${locale}`).toContain(shown);
        expect(mail.html || '', `${currency} ${locale}`).toContain(`<strong><bdi class="amount">${shown}</bdi></strong>`);
      }
    }
  });
});
