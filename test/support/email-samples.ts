/**
 * Sample customer emails, one per template locale, as a customer of that market would get them:
 * the market's currency, a long-ish name in its script, an order reference. Shared by the browser
 * test (test/integration/email-render.browser.test.ts) and the docs' screenshots
 * (scripts/email-screenshots.ts).
 */
import { renderCustomerCompleted, renderEscalationEmail, type EmailBrand, type RenderedEmail } from '../../src/adapters/email/render.js';
import type { TemplateSet } from '../../src/adapters/email/templates.js';
import { minorUnitDigits } from '../../src/domain/money.js';
import { refundContent } from '../../src/domain/notification-content.js';
import type { NotificationSubject } from '../../src/domain/routing.js';

interface Market {
  /** What the customer's event says (`ar-KW` picks the `ar` template and Kuwaiti formatting). */
  readonly customerLocale: string;
  readonly currency: string;
  /** Minor units, as Antom sends them. */
  readonly value: string;
  readonly name: string;
}

/**
 * Keyed by template locale. Amounts in the thousands or more, so grouping separators show, and
 * in currencies whose ISO exponent is 0 (JPY, KRW, VND), 2 and 3 (KWD). IDR's 2 is the one CLDR
 * gets wrong (src/domain/money.ts): 150000000 minor units must show as 1,500,000.00.
 */
const MARKETS: Readonly<Record<string, Market>> = {
  en: { customerLocale: 'en-US', currency: 'USD', value: '1234567', name: 'Alexandra Montgomery-Fairweather' },
  de: { customerLocale: 'de-DE', currency: 'EUR', value: '1234567', name: 'Maximilian Schwarzenberg-Müller' },
  es: { customerLocale: 'es-ES', currency: 'EUR', value: '1234567', name: 'María José Fernández de la Fuente' },
  fr: { customerLocale: 'fr-FR', currency: 'EUR', value: '1234567', name: 'Marie-Hélène Dupont-Lefèvre' },
  ja: { customerLocale: 'ja-JP', currency: 'JPY', value: '150000', name: '山田 太郎左衛門' },
  'zh-CN': { customerLocale: 'zh-CN', currency: 'CNY', value: '1234567', name: '欧阳 志明' },
  'zh-TW': { customerLocale: 'zh-TW', currency: 'TWD', value: '1234567', name: '歐陽 志明' },
  ko: { customerLocale: 'ko-KR', currency: 'KRW', value: '150000', name: '남궁 민수' },
  th: { customerLocale: 'th-TH', currency: 'THB', value: '1234567', name: 'สมชาย ศรีสวัสดิ์วงศ์' },
  id: { customerLocale: 'id-ID', currency: 'IDR', value: '150000000', name: 'Siti Nurhaliza Rahmawati Putri' },
  ms: { customerLocale: 'ms-MY', currency: 'MYR', value: '1234567', name: 'Nur Aisyah binti Abdullah Rahman' },
  vi: { customerLocale: 'vi-VN', currency: 'VND', value: '1500000', name: 'Nguyễn Thị Thanh Hương' },
  'pt-BR': { customerLocale: 'pt-BR', currency: 'BRL', value: '1234567', name: 'João Pedro de Oliveira Nascimento' },
  ar: { customerLocale: 'ar-KW', currency: 'KWD', value: '12500', name: 'عبد الله بن محمد الصباح' },
};

function marketOf(locale: string): Market {
  return (
    MARKETS[locale] ??
    MARKETS[locale.split('-')[0]!] ?? { customerLocale: locale, currency: 'USD', value: '1234567', name: 'Alexandra Montgomery-Fairweather' }
  );
}

/**
 * Ids that the bidirectional algorithm reorders in a right-to-left paragraph unless they are
 * isolated: digits first, Latin letters after ("20241125-RFD-00042" would show as
 * "RFD-00042-20241125"), and a "#" that would move to the far end.
 */
export const SAMPLE_REFUND_ID = '20241125-RFD-00042';
export const SAMPLE_ORDER_REF = '#10042-B';

export interface EmailSample {
  /** The template locale this sample is for. */
  readonly locale: string;
  readonly customerLocale: string;
  readonly currency: string;
  readonly name: string;
  /** The digits the amount must show, whatever the locale's separators and numerals. */
  readonly amountDigits: string;
  readonly refundId: string;
  readonly orderRef: string;
  readonly email: RenderedEmail;
}

/** The sample brand: a long name with an ampersand (escaped in HTML), every support channel. */
export function sampleBrand(logoUrl: string | undefined): EmailBrand {
  return {
    displayName: 'Lumière & Søn Housewares',
    ...(logoUrl ? { logoUrl } : {}),
    accentColor: '#8a2be2',
    supportEmail: 'help@lumiere-son.example',
    supportUrl: 'https://lumiere-son.example/help/refunds',
    supportPhone: '+1 415 555 0100',
  };
}

/** "12500" KWD (exponent 3) -> "12500"; "5" KWD -> "0005": the value, zero-padded to its exponent. */
function digitsShown(value: string, currency: string): string {
  const exponent = minorUnitDigits(currency);
  if (exponent === undefined) throw new Error(`no ISO 4217 exponent for ${currency}`);
  return value.padStart(exponent + 1, '0');
}

/** The refund-completed email of `locale`'s market, rendered as the service would send it. */
export function customerSample(templates: TemplateSet, locale: string, brand?: EmailBrand): EmailSample {
  const market = marketOf(locale);
  const subject: NotificationSubject = {
    event: 'refund.completed',
    refundKey: SAMPLE_REFUND_ID,
    refundId: SAMPLE_REFUND_ID,
    paymentId: '2024112519401089000000042',
    status: 'SUCCESS',
    refundAmount: { currency: market.currency, value: market.value },
    customer: { email: 'customer@example.com', name: market.name, locale: market.customerLocale },
    refundTime: '2024-11-25T16:00:00Z',
    detectedAt: Date.UTC(2024, 10, 25, 16, 0, 5),
    metadata: { orderId: SAMPLE_ORDER_REF },
  };
  return {
    locale,
    customerLocale: market.customerLocale,
    currency: market.currency,
    name: market.name,
    amountDigits: digitsShown(market.value, market.currency),
    refundId: SAMPLE_REFUND_ID,
    orderRef: SAMPLE_ORDER_REF,
    email: renderCustomerCompleted(subject, templates, brand ? { brand } : {}),
  };
}

/** The operations email for a refund Antom rejected, with its playbook and every fact. */
export function escalationSample(templates: TemplateSet): RenderedEmail {
  const subject: NotificationSubject = {
    event: 'refund.failed',
    refundKey: SAMPLE_REFUND_ID,
    refundId: SAMPLE_REFUND_ID,
    refundRequestId: 'REQ-20241125-RFD-00042-a7f3c9e1b5d24f6e8a0c',
    paymentId: '2024112519401089000000042',
    status: 'FAIL',
    reasonCode: 'RISK_REJECT',
    resultCode: 'RISK_REJECT',
    resultMessage: 'The refund was rejected by the risk control of the payment method provider.',
    refundAmount: { currency: 'KWD', value: '12500' },
    merchantAccountId: 'M-2188120000000000-EU-HOUSEWARES',
    paymentMethodType: 'ALIPAY_CN',
    customer: { email: 'abdullah.alsabah@example.kw', name: 'عبد الله بن محمد الصباح', locale: 'ar-KW' },
    escalate: true,
    refundTime: '2024-11-25T16:00:00Z',
    detectedAt: Date.UTC(2024, 10, 25, 16, 0, 5),
    inquiries: 7,
    metadata: { orderId: SAMPLE_ORDER_REF },
  };
  return renderEscalationEmail(
    refundContent(subject, 'escalation', {
      playbook: 'Ask the customer for another payment method, or refund them by bank transfer and mark the refund settled in the console.',
    }),
    templates,
  );
}
