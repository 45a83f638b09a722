import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FSI, PDI } from '../../../src/adapters/email/locales.js';
import { serviceEmailing, type EmailingService } from '../../support/customer-emails.js';
import { until } from '../../support/kafka.js';

/**
 * Issue 15, items 1-3: refunds for Chinese, Korean and Kuwaiti customers complete, and the emails
 * the service sends over SMTP arrive in the customer's language, with the market's amount format,
 * and right to left for Arabic (docs/notifications.md, "Locales, amounts and dates").
 */
const TOKEN = 'xoxb-locales-test';
const RLM = '\u200f';

const CUSTOMERS = [
  {
    id: 'LOC-CNY',
    amount: { currency: 'CNY', value: '123456' },
    email: 'wang@example.cn',
    name: '王伟',
    locale: 'zh-CN',
    lang: 'zh-CN',
    subject: '退款已完成：¥1,234.56',
    line: '您的 ¥1,234.56 退款已于',
    shown: '¥1,234.56',
  },
  {
    id: 'LOC-KRW',
    amount: { currency: 'KRW', value: '125000' },
    email: 'minji@example.kr',
    name: '김민지',
    locale: 'ko-KR',
    lang: 'ko',
    subject: '₩125,000 환불이 완료되었습니다',
    line: '요청하신 환불(₩125,000)이',
    shown: '₩125,000',
  },
  {
    id: 'LOC-KWD',
    amount: { currency: 'KWD', value: '1250500' },
    email: 'fatima@example.kw',
    name: 'فاطمة',
    locale: 'ar-KW',
    lang: 'ar',
    subject: `اكتملت عملية استرداد أموالك بقيمة ${RLM}1,250.500\u00a0د.ك.${RLM}`,
    line: `يسعدنا إبلاغك بأن عملية استرداد أموالك بقيمة ${FSI}${RLM}1,250.500\u00a0د.ك.${RLM}${PDI}`,
    shown: `${RLM}1,250.500\u00a0د.ك.${RLM}`,
  },
] as const;

/** The other six new locales: language, market format and fallback (zh-HK gets zh-TW) over SMTP too. */
const MORE = [
  { id: 'LOC-HKD', amount: { currency: 'HKD', value: '123450' }, email: 'chan@example.hk', name: '陳大文', locale: 'zh-HK', lang: 'zh-TW', prefix: '退款已完成', shown: 'HK$1,234.50' },
  { id: 'LOC-THB', amount: { currency: 'THB', value: '125000' }, email: 'somchai@example.th', name: 'สมชาย', locale: 'th-TH', lang: 'th', prefix: 'การคืนเงิน', shown: '฿1,250.00' },
  { id: 'LOC-IDR', amount: { currency: 'IDR', value: '150000000' }, email: 'budi@example.id', name: 'Budi Santoso', locale: 'id-ID', lang: 'id', prefix: 'Pengembalian dana', shown: 'Rp1.500.000,00' },
  { id: 'LOC-MYR', amount: { currency: 'MYR', value: '8990' }, email: 'aisyah@example.my', name: 'Nur Aisyah', locale: 'ms-MY', lang: 'ms', prefix: 'Bayaran balik', shown: 'RM89.90' },
  { id: 'LOC-VND', amount: { currency: 'VND', value: '2500000' }, email: 'lan@example.vn', name: 'Nguyễn Thị Lan', locale: 'vi-VN', lang: 'vi', prefix: 'Khoản hoàn tiền', shown: '2.500.000₫' },
  { id: 'LOC-BRL', amount: { currency: 'BRL', value: '19990' }, email: 'joao@example.br', name: 'João Silva', locale: 'pt-BR', lang: 'pt-BR', prefix: 'Seu reembolso', shown: 'R$199,90' },
] as const;
const ALL = [...CUSTOMERS, ...MORE];

describe('customer emails over SMTP in the customer language (all nine new locales)', () => {
  let run: EmailingService;

  beforeAll(async () => {
    run = await serviceEmailing('locales', ALL.map((c) => ({ ...c, metadata: { orderId: `ORD-${c.id}` } })), { slackToken: TOKEN });
  });

  afterAll(async () => {
    await run?.close();
  });

  it('each customer receives one email in their language, with the amount in their market format', async () => {
    await until(() => CUSTOMERS.every((c) => run.to(c.email).length > 0), { timeoutMs: 30_000, message: 'three customer emails' });
    for (const c of CUSTOMERS) {
      const mail = run.to(c.email);
      expect(mail, c.id).toHaveLength(1);
      const { subject, text, html } = mail[0]!;
      expect(subject, c.id).toBe(c.subject);
      expect(text, c.id).toContain(c.line);
      expect(html || '', c.id).toContain(`<html lang="${c.lang}"${c.lang === 'ar' ? ' dir="rtl"' : ''}>`);
      expect(html || '', c.id).toContain(`<strong><bdi class="amount">${c.shown}</bdi></strong>`);
      expect(html || '', c.id).toContain(`<bdi class="refund-id">${c.id}</bdi>`);
      expect(html || '', c.id).toContain(`<bdi class="order-ref">ORD-${c.id}</bdi>`);
      expect(html || '', c.id).toContain(`<bdi>${c.name}</bdi>`);
    }
    // Arabic: the text part isolates the ids; Latin digits throughout.
    const ar = run.to('fatima@example.kw')[0]!;
    expect(ar.text).toContain(`${FSI}LOC-KWD${PDI}`);
    expect(`${ar.subject}${ar.text}${ar.html || ''}`).not.toMatch(/[\u0660-\u0669]/);
    // Left-to-right text parts carry no isolates.
    for (const email of ['wang@example.cn', 'minji@example.kr']) expect(run.to(email)[0]!.text).not.toMatch(/[\u2066-\u2069]/);
  });

  it('the other new locales arrive in their language too, with the market format, zh-HK in Traditional Chinese', async () => {
    await until(() => MORE.every((c) => run.to(c.email).length > 0), { timeoutMs: 30_000, message: 'six more customer emails' });
    const compact = (text: string) => text.replace(/[\s\u00a0\u202f]/g, '');
    for (const c of MORE) {
      const mail = run.to(c.email);
      expect(mail, c.id).toHaveLength(1);
      const { subject, text, html } = mail[0]!;
      expect(subject, c.id).toMatch(new RegExp(`^${c.prefix}`));
      expect(compact(subject ?? ''), c.id).toContain(c.shown);
      expect(compact(text ?? ''), c.id).toContain(c.shown);
      expect(html || '', c.id).toContain(`<html lang="${c.lang}">`);
      expect(compact(html || ''), c.id).toContain(`<bdiclass="amount">${c.shown}</bdi>`);
      expect(html || '', c.id).toContain(`<bdi class="refund-id">${c.id}</bdi>`);
    }
  });
});
