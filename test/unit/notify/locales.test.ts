import { describe, expect, it } from 'vitest';
import { FSI, PDI, localeChain, textDirection } from '../../../src/adapters/email/locales.js';
import { renderCustomerCompleted, type EmailBrand } from '../../../src/adapters/email/render.js';
import { escapeHtml, loadTemplates } from '../../../src/adapters/email/templates.js';
import { ISO4217_MINOR_UNITS } from '../../../src/domain/iso4217.js';
import { formatMinorUnits } from '../../../src/domain/money.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';
import { localisedSubject } from '../../support/subjects.js';

/**
 * The customer email in Antom's markets' languages (issue 15, items 1-3; docs/notifications.md,
 * "Locales, amounts and dates" and "Right to left"): which template a tag reads, each locale's own
 * amount and date formats, bidi isolation of values, and no English left behind.
 */
const templates = loadTemplates();
const NEW_LOCALES = ['zh-CN', 'zh-TW', 'ko', 'th', 'id', 'ms', 'vi', 'pt-BR', 'ar'] as const;
const RLM = '\u200f';
const NBSP = '\u00a0';

function completed(locale: string, amount: { currency: string; value: string }, overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return localisedSubject(locale, { refundAmount: amount, ...overrides });
}

describe('the template a customer locale reads', () => {
  it.each([
    ['zh-HK', ['zh-HK', 'zh-TW', 'zh', 'en']],
    ['zh_hk', ['zh-HK', 'zh-TW', 'zh', 'en']],
    ['zh-MO', ['zh-MO', 'zh-TW', 'zh', 'en']],
    ['zh-Hant', ['zh-Hant', 'zh-TW', 'zh', 'en']],
    ['zh-Hant-HK', ['zh-Hant-HK', 'zh-HK', 'zh-Hant', 'zh-TW', 'zh', 'en']],
    ['zh-TW', ['zh-TW', 'zh', 'en']],
    ['zh', ['zh', 'zh-CN', 'en']],
    ['zh-CN', ['zh-CN', 'zh', 'en']],
    ['zh-SG', ['zh-SG', 'zh-CN', 'zh', 'en']],
    ['zh-Hans', ['zh-Hans', 'zh-CN', 'zh', 'en']],
    ['zh-Hans-SG', ['zh-Hans-SG', 'zh-SG', 'zh-Hans', 'zh-CN', 'zh', 'en']],
    ['pt-PT', ['pt-PT', 'pt', 'en']],
    ['pt', ['pt', 'pt-BR', 'en']],
    ['pt-BR', ['pt-BR', 'pt', 'en']],
    ['ar-KW', ['ar-KW', 'ar', 'en']],
    ['ar-SA', ['ar-SA', 'ar', 'en']],
    ['ar-AE', ['ar-AE', 'ar', 'en']],
    ['ar-KW-u-nu-arab', ['ar-KW', 'ar', 'en']],
    ['ms-MY', ['ms-MY', 'ms', 'en']],
    ['in', ['id', 'en']],
    ['in-ID', ['id-ID', 'id', 'en']],
    ['ko-KR', ['ko-KR', 'ko', 'en']],
    // A script the region does not write by default is not dropped: Serbian in Latin is not sr-RS (Cyrillic).
    ['sr-Latn-RS', ['sr-Latn-RS', 'sr-Latn', 'sr', 'en']],
  ])('%s -> %j', (requested, chain) => {
    expect(localeChain(requested)).toEqual(chain);
  });

  it.each([
    ['zh-HK', 'zh-TW'],
    ['zh-MO', 'zh-TW'],
    ['zh-Hant-TW', 'zh-TW'],
    ['zh', 'zh-CN'],
    ['zh-SG', 'zh-CN'],
    ['zh-Hans-CN', 'zh-CN'],
    ['pt', 'pt-BR'],
    ['pt-PT', 'en'],
    ['ar-KW', 'ar'],
    ['ms-MY', 'ms'],
    ['in', 'id'],
    ['ko-KR', 'ko'],
  ])('the shipped templates: %s reads %s', (requested, template) => {
    expect(templates.resolveLocale('customer-completed', requested)).toBe(template);
  });

  it('knows which way a locale runs', () => {
    expect(['ar', 'ar-KW', 'he', 'fa', 'ms-Arab'].map(textDirection)).toEqual(['rtl', 'rtl', 'rtl', 'rtl', 'rtl']);
    expect(['en', 'ms', 'zh-HK', 'th', 'not a locale'].map(textDirection)).toEqual(['ltr', 'ltr', 'ltr', 'ltr', 'ltr']);
  });
});

/** A refund in each market's currency, and what its email must say, formatted in the customer's locale. */
const MARKETS = [
  { locale: 'zh-CN', template: 'zh-CN', currency: 'CNY', value: '123456', amount: '¥1,234.56', subject: '退款已完成：¥1,234.56', body: '您的 ¥1,234.56 退款已于2025年3月4日处理完成。' },
  { locale: 'zh-TW', template: 'zh-TW', currency: 'TWD', value: '123456', amount: '$1,234.56', subject: '退款已完成：$1,234.56', body: '您的 $1,234.56 退款已於2025年3月4日處理完成。' },
  // Hong Kong reads the Traditional template with Hong Kong's formatting.
  { locale: 'zh-HK', template: 'zh-TW', currency: 'HKD', value: '123456', amount: 'HK$1,234.56', subject: '退款已完成：HK$1,234.56', body: '您的 HK$1,234.56 退款已於2025年3月4日處理完成。' },
  // KRW has no minor unit: 125000 is ₩125,000.
  { locale: 'ko-KR', template: 'ko', currency: 'KRW', value: '125000', amount: '₩125,000', subject: '₩125,000 환불이 완료되었습니다', body: '요청하신 환불(₩125,000)이 2025년 3월 4일에 완료되었습니다.' },
  // Thai dates are in the Buddhist era (CLDR's default for th): 2025 is 2568.
  { locale: 'th-TH', template: 'th', currency: 'THB', value: '123456', amount: '฿1,234.56', subject: 'การคืนเงิน ฿1,234.56 ของคุณเสร็จสมบูรณ์แล้ว', body: 'การคืนเงินของคุณจำนวน ฿1,234.56 ดำเนินการเสร็จสมบูรณ์แล้วเมื่อวันที่ 4 มีนาคม 2568' },
  // IDR in ISO's two decimals (CLDR would show none).
  { locale: 'id-ID', template: 'id', currency: 'IDR', value: '1000000', amount: `Rp${NBSP}10.000,00`, subject: `Pengembalian dana sebesar Rp${NBSP}10.000,00 telah selesai`, body: `Kabar baik: pengembalian dana Anda sebesar Rp${NBSP}10.000,00 telah selesai diproses pada 4 Maret 2025.` },
  { locale: 'ms-MY', template: 'ms', currency: 'MYR', value: '123456', amount: `RM${NBSP}1,234.56`, subject: `Bayaran balik sebanyak RM${NBSP}1,234.56 telah selesai`, body: `Berita baik: bayaran balik anda sebanyak RM${NBSP}1,234.56 telah selesai diproses pada 4 Mac 2025.` },
  { locale: 'vi-VN', template: 'vi', currency: 'VND', value: '125000', amount: `125.000${NBSP}₫`, subject: `Khoản hoàn tiền 125.000${NBSP}₫ của Quý khách đã hoàn tất`, body: `Khoản hoàn tiền 125.000${NBSP}₫ của Quý khách đã được xử lý xong vào ngày 4 tháng 3, 2025.` },
  { locale: 'pt-BR', template: 'pt-BR', currency: 'BRL', value: '123456', amount: `R$${NBSP}1.234,56`, subject: `Seu reembolso de R$${NBSP}1.234,56 foi concluído`, body: `Boa notícia: seu reembolso de R$${NBSP}1.234,56 foi concluído em 4 de março de 2025.` },
  // KWD in three decimals, Latin digits, with the RLM marks CLDR puts around an Arabic amount;
  // the text part isolates each value.
  {
    locale: 'ar-KW',
    template: 'ar',
    currency: 'KWD',
    value: '1250500',
    amount: `${RLM}1,250.500${NBSP}د.ك.${RLM}`,
    subject: `اكتملت عملية استرداد أموالك بقيمة ${RLM}1,250.500${NBSP}د.ك.${RLM}`,
    body: `يسعدنا إبلاغك بأن عملية استرداد أموالك بقيمة ${FSI}${RLM}1,250.500${NBSP}د.ك.${RLM}${PDI} قد اكتملت بتاريخ ${FSI}4 مارس 2025${PDI}.`,
  },
] as const;

describe.each(MARKETS)('the customer email for $locale ($currency)', (m) => {
  const email = renderCustomerCompleted(completed(m.locale, { currency: m.currency, value: m.value }), templates);

  it('is in the language of the market, with its own amount and date formats', () => {
    expect(email.locale).toBe(m.template);
    expect(formatMinorUnits({ currency: m.currency, value: m.value }, m.template === 'ar' ? `${m.locale}-u-nu-latn` : m.locale)).toBe(m.amount);
    expect(email.subject).toBe(m.subject);
    expect(email.text.split('\n')[2]).toBe(m.body);
    expect(email.html).toContain(`<strong><bdi class="amount">${escapeHtml(m.amount)}</bdi></strong>`);
  });

  it('isolates the amount, ids, order and name in HTML', () => {
    expect(email.html).toContain('<bdi class="refund-id">R-2025-0042</bdi>');
    expect(email.html).toContain('<bdi class="order-ref">ORD-7</bdi>');
    expect(email.html).toContain('<bdi>Kim</bdi>');
    const noOrder = renderCustomerCompleted(completed(m.locale, { currency: m.currency, value: m.value }, { metadata: {} }), templates);
    expect(noOrder.html).toContain('<bdi class="payment-id">P-889</bdi>');
    expect(noOrder.html).not.toContain('order-ref');
    expect(email.html).toContain(`<html lang="${m.template}"${m.template === 'ar' ? ' dir="rtl"' : ''}>`);
  });

  it(m.template === 'ar' ? 'isolates every value in the text part (FSI … PDI)' : 'keeps values bare in the text part (left to right)', () => {
    const values = ['R-2025-0042', 'ORD-7', 'Kim', m.amount];
    for (const value of values) {
      if (m.template === 'ar') expect(email.text).toContain(`${FSI}${value}${PDI}`);
      else expect(email.text).toContain(value);
    }
    if (m.template !== 'ar') expect(email.text).not.toMatch(/[\u2066-\u2069]/);
    // Subjects carry no isolates: the RLM marks of an Arabic amount are enough there.
    expect(email.subject).not.toMatch(/[\u2066-\u2069]/);
  });
});

describe('Arabic', () => {
  const kwd = { currency: 'KWD', value: '1250500' };

  it('runs right to left: dir and lang on <html>, <body> and the tables, right-aligned cells', () => {
    const { html } = renderCustomerCompleted(completed('ar-KW', kwd), templates);
    expect(html).toContain('<html lang="ar" dir="rtl">');
    expect(html).toContain('<body dir="rtl"');
    expect(html).toMatch(/<td dir="rtl" align="right" style="text-align:right;">/);
    const labels = html.match(/<tr><td [^>]*>[^<]*<\/td>/g) ?? [];
    expect(labels).toHaveLength(2); // refund id and order
    for (const label of labels) expect(label).toContain('align="right"');
  });

  it('writes amounts and dates in Latin digits in every Arab market, unless the tag asks for Arabic-Indic', () => {
    for (const locale of ['ar', 'ar-KW', 'ar-SA', 'ar-EG', 'ar-AE']) {
      const email = renderCustomerCompleted(completed(locale, kwd), templates);
      expect(email.subject, locale).toContain('1,250.500');
      expect(`${email.subject}${email.html}${email.text}`, locale).not.toMatch(/[\u0660-\u0669\u06f0-\u06f9]/);
      expect(email.text, locale).toContain('4 مارس 2025');
    }
    const asked = renderCustomerCompleted(completed('ar-KW-u-nu-arab', kwd), templates);
    expect(asked.subject).toContain('١٬٢٥٠٫٥٠٠');
    expect(asked.text).toContain('٤ مارس ٢٠٢٥');
  });
});

describe('bidi safety in left-to-right locales', () => {
  it('an Arabic name stays isolated in HTML in every locale', () => {
    for (const locale of templates.locales('customer-completed')) {
      const email = renderCustomerCompleted(completed(locale, { currency: 'USD', value: '1250' }, { customer: { name: 'محمد العلي', locale } }), templates);
      expect(email.html, locale).toContain('<bdi>محمد العلي</bdi>');
    }
  });

  it('no amount formatted in a left-to-right shipped locale holds a right-to-left character, in any ISO currency', () => {
    // Why the LTR text parts need no FSI/PDI around amounts (docs/notifications.md, "Right to left").
    const ltr = templates.locales('customer-completed').filter((l) => textDirection(l) === 'ltr');
    const rtlChars = /[\p{Script=Arabic}\p{Script=Hebrew}\u200f\u061c]/u;
    for (const locale of ltr) {
      for (const [currency, digits] of Object.entries(ISO4217_MINOR_UNITS)) {
        if (digits === null) continue;
        const shown = formatMinorUnits({ currency, value: '123456' }, locale);
        expect(shown, `${currency} in ${locale}`).not.toMatch(rtlChars);
      }
    }
  });
});

describe('every new locale speaks its own language', () => {
  const brand: EmailBrand = {
    displayName: 'Acme Store',
    logoUrl: 'https://cdn.acme.example/logo.png',
    accentColor: '#aa0000',
    supportEmail: 'help@acme.example',
    supportUrl: 'https://help.acme.example/refunds',
    supportPhone: '+965 2222 3333',
  };
  const usd = { currency: 'USD', value: '1250' };
  const values: string[] = ['R-2025-0042', 'ORD-7', 'P-889', 'Kim', ...Object.values(brand).filter((v): v is string => typeof v === 'string')];
  const strip = (text: string) => values.reduce((t, v) => t.split(v).join(''), text);
  const sentences = (text: string) =>
    strip(text)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /[A-Za-z]{3}/.test(l))
      // "Email:" is also Indonesian's and Vietnamese's word for it (a loanword), not a leftover.
      .filter((l) => l !== 'Email:');
  const english = [
    ...sentences(renderCustomerCompleted(completed('en', usd), templates).text),
    ...sentences(renderCustomerCompleted(completed('en', usd), templates, { brand }).text),
  ];

  it.each(NEW_LOCALES)('%s: no English sentence or word of the English template left behind', (locale) => {
    for (const options of [{}, { brand }]) {
      const email = renderCustomerCompleted(completed(locale, usd), templates, options);
      expect(email.locale).toBe(locale);
      const text = strip(`${email.subject}\n${email.text}`);
      for (const line of english) expect(text).not.toContain(line);
      expect(text).not.toMatch(/\b(refund|hello|thank|reply|question|quote|order|payment|team|support|complete)/i);
    }
  });

  it.each(NEW_LOCALES)('%s: the brand (logo, accent, sign-off) and support contacts, or the reply sentence without them', (locale) => {
    const branded = renderCustomerCompleted(completed(locale, usd), templates, { brand });
    // The subject names who refunded, first, as 【…】 in Chinese and […] elsewhere.
    expect(branded.subject).toMatch(locale.startsWith('zh') ? /^【Acme Store】/ : /^\[Acme Store\] /);
    expect(renderCustomerCompleted(completed(locale, usd), templates).subject).not.toMatch(/^[[【]/);
    expect(branded.html).toContain('<img src="https://cdn.acme.example/logo.png" alt="Acme Store" height="40"');
    expect(branded.html).toMatch(/<h1 style="[^"]*border-bottom:4px solid #aa0000;padding-bottom:12px;">/);
    expect(branded.html).toContain('<bdi>Acme Store</bdi>');
    expect(branded.html).toContain('<a href="mailto:help@acme.example" style="color:#aa0000;"><bdi>help@acme.example</bdi></a>');
    expect(branded.html).toContain('<a href="https://help.acme.example/refunds" style="color:#aa0000;">');
    expect(branded.html).toContain('<bdi>+965 2222 3333</bdi>');
    for (const value of ['Acme Store', 'help@acme.example', 'https://help.acme.example/refunds', '+965 2222 3333']) expect(branded.text).toContain(value);

    // Same brand without support contacts: the reply sentence replaces the contact intro and lines.
    const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
    const noSupport = renderCustomerCompleted(completed(locale, usd), templates, { brand: { displayName: 'Acme Store' } });
    const withSupport = lines(branded.text);
    const onlyWithout = lines(noSupport.text).filter((l) => !withSupport.includes(l));
    expect(onlyWithout, 'the reply sentence').toHaveLength(1);
    expect(withSupport.filter((l) => !lines(noSupport.text).includes(l)), 'intro and three contact lines').toHaveLength(4);
    // One contact: the intro once, and that contact.
    const phoneOnly = renderCustomerCompleted(completed(locale, usd), templates, { brand: { displayName: 'Acme Store', supportPhone: '+965 2222 3333' } });
    expect(lines(phoneOnly.text).filter((l) => !lines(noSupport.text).includes(l))).toHaveLength(2);
    expect(phoneOnly.html).not.toContain('mailto:');
    // No brand: no logo, the default sign-off, the default accent.
    const plain = renderCustomerCompleted(completed(locale, usd), templates);
    expect(plain.html).not.toContain('<img');
    expect(plain.html).toContain('border-bottom:4px solid #0969da;');
    expect(plain.text).not.toContain('Acme');
    expect(lines(plain.text)).toContain(onlyWithout[0]);
  });
});
