import { describe, expect, it } from 'vitest';
import { renderCustomerCompleted, renderEscalationEmail } from '../../../src/adapters/email/render.js';
import { loadTemplates } from '../../../src/adapters/email/templates.js';
import { adminRefundView } from '../../../src/adapters/http/admin-routes.js';
import { createRenderers } from '../../../src/adapters/notify/renderers.js';
import { groupMessage, outageMessage, refundMessage, type SlackBlock } from '../../../src/adapters/slack/blocks.js';
import { formatMinorUnits } from '../../../src/domain/money.js';
import {
  escalationGroupContent,
  escalationGroupSummary,
  outageSummary,
  outageSummaryContent,
  type GroupedRefund,
  type OutageItem,
} from '../../../src/domain/notification-content.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';

/**
 * One table of currencies, through every place an amount is shown: the customer email in each
 * shipped locale, Slack, the escalation email, grouped escalations, outage summaries and the admin
 * API. The expected strings are written out, not computed with Intl, so a change in how any of
 * them looks is a visible change here. Values have non-zero decimals where the currency has
 * decimals, so a rounded or dropped digit shows.
 *
 * Operations (Slack, escalation email, admin) read English formatting; a customer reads their own.
 */
interface Row {
  readonly currency: string;
  /** Minor units, as Antom sends them. */
  readonly value: string;
  readonly en: string;
  readonly es: string;
  readonly fr: string;
  readonly de: string;
  readonly ja: string;
  /** Twice the value, in English: the total of a group or an outage holding two such refunds. */
  readonly doubled: string;
}

const TABLE: readonly Row[] = [
  { currency: 'USD', value: '123456', en: '$1,234.56', es: '1234,56\u00a0US$', fr: '1\u202f234,56\u00a0$US', de: '1.234,56\u00a0$', ja: '$1,234.56', doubled: '$2,469.12' },
  { currency: 'EUR', value: '123456', en: '€1,234.56', es: '1234,56\u00a0€', fr: '1\u202f234,56\u00a0€', de: '1.234,56\u00a0€', ja: '€1,234.56', doubled: '€2,469.12' },
  // ISO 0.
  { currency: 'JPY', value: '123456', en: '¥123,456', es: '123.456\u00a0JPY', fr: '123\u202f456\u00a0JPY', de: '123.456\u00a0¥', ja: '￥123,456', doubled: '¥246,912' },
  { currency: 'KRW', value: '123456', en: '₩123,456', es: '123.456\u00a0KRW', fr: '123\u202f456\u00a0₩', de: '123.456\u00a0₩', ja: '₩123,456', doubled: '₩246,912' },
  // ISO 2 where CLDR says 0 (issue 11): were "IDR 1,000,000" and "HUF 1,234,550".
  { currency: 'IDR', value: '1000000', en: 'IDR\u00a010,000.00', es: '10.000,00\u00a0IDR', fr: '10\u202f000,00\u00a0IDR', de: '10.000,00\u00a0IDR', ja: 'IDR\u00a010,000.00', doubled: 'IDR\u00a020,000.00' },
  { currency: 'HUF', value: '1234550', en: 'HUF\u00a012,345.50', es: '12.345,50\u00a0HUF', fr: '12\u202f345,50\u00a0HUF', de: '12.345,50\u00a0HUF', ja: 'HUF\u00a012,345.50', doubled: 'HUF\u00a024,691.00' },
  // ISO 3.
  { currency: 'KWD', value: '1234567', en: 'KWD\u00a01,234.567', es: '1234,567\u00a0KWD', fr: '1\u202f234,567\u00a0KWD', de: '1.234,567\u00a0KWD', ja: 'KWD\u00a01,234.567', doubled: 'KWD\u00a02,469.134' },
  { currency: 'BHD', value: '1250', en: 'BHD\u00a01.250', es: '1,250\u00a0BHD', fr: '1,250\u00a0BHD', de: '1,250\u00a0BHD', ja: 'BHD\u00a01.250', doubled: 'BHD\u00a02.500' },
  // ISO 4 (a fund code).
  { currency: 'CLF', value: '123456', en: 'CLF\u00a012.3456', es: '12,3456\u00a0CLF', fr: '12,3456\u00a0CLF', de: '12,3456\u00a0CLF', ja: 'CLF\u00a012.3456', doubled: 'CLF\u00a024.6912' },
  // ISO 3 where CLDR says 0 (issue 11): was "IQD 1,500,250".
  { currency: 'IQD', value: '1500250', en: 'IQD\u00a01,500.250', es: '1500,250\u00a0IQD', fr: '1\u202f500,250\u00a0IQD', de: '1.500,250\u00a0IQD', ja: 'IQD\u00a01,500.250', doubled: 'IQD\u00a03,000.500' },
];

const LOCALES = ['en', 'es', 'fr', 'de', 'ja'] as const;
const T0 = Date.UTC(2024, 10, 25, 16, 0, 0);
const templates = loadTemplates();
const renderers = createRenderers(templates, 'Refunds <refunds@shop.example>');

function subject(row: Row, overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return {
    event: 'refund.completed',
    refundKey: `R-${row.currency}`,
    refundId: `R-${row.currency}`,
    paymentId: `P-${row.currency}`,
    status: 'SUCCESS',
    refundAmount: { currency: row.currency, value: row.value },
    customer: { email: 'jane@example.com', name: 'Jane', locale: 'en' },
    refundTime: '2024-11-25T16:00:00Z',
    detectedAt: T0,
    ...overrides,
  };
}

function failed(row: Row): NotificationSubject {
  return subject(row, { event: 'refund.failed', status: 'FAIL', reasonCode: 'RISK_REJECT', resultCode: 'RISK_REJECT', escalate: true, refundTime: undefined });
}

/** Two refunds per currency of the table, so each total is `doubled`. */
function groupedRefunds(): GroupedRefund[] {
  return TABLE.flatMap((row, i) =>
    [0, 1].map((n) => ({
      refundKey: `R-${row.currency}-${n}`,
      refundId: `R-${row.currency}-${n}`,
      paymentId: `P-${row.currency}-${n}`,
      refundAmount: { currency: row.currency, value: row.value },
      detectedAt: T0 + (i * 2 + n) * 1000,
    })),
  );
}

function mrkdwn(blocks: readonly SlackBlock[]): string[] {
  return blocks.flatMap((b) => (b.type === 'section' ? [...(b.text ? [b.text.text] : []), ...(b.fields ?? []).map((f) => f.text)] : []));
}

// Alphabetical, as totals are listed: BHD, CLF, EUR, HUF, IDR, IQD, JPY, KRW, KWD, USD.
const byCode = [...TABLE].sort((a, b) => (a.currency < b.currency ? -1 : 1));
const allTotals = byCode.map((r) => r.doubled).join(' + ');

describe.each(TABLE)('$currency $value', (row) => {
  it('formats with the ISO exponent in every shipped locale', () => {
    for (const locale of LOCALES) expect(formatMinorUnits({ currency: row.currency, value: row.value }, locale), locale).toBe(row[locale]);
  });

  it.each(LOCALES)('customer email in %s: subject, text and HTML', (locale) => {
    const email = renderCustomerCompleted(subject(row, { customer: { name: 'Jane', locale } }), templates);
    expect(email.locale).toBe(locale);
    const amount = row[locale];
    expect(email.subject).toContain(amount);
    expect(email.text).toContain(amount);
    expect(email.html).toContain(`<strong><bdi class="amount">${amount}</bdi></strong>`);
    // The same through the renderer the dispatcher uses.
    expect(renderers.customerEmail(subject(row, { customer: { locale } })).text).toContain(amount);
  });

  it('Slack: the ops line and the escalation show the amount in their text and Amount field', () => {
    const line = refundMessage(subject(row), 'ops-line');
    expect(line.text).toBe(`Refund R-${row.currency} completed (${row.en}), payment P-${row.currency}`);
    expect(mrkdwn(line.blocks)).toContain(`*Amount*\n${row.en}`);
    const escalation = renderers.slackRefund(failed(row), 'escalation', 'Ask Antom.');
    expect(escalation.text).toContain(`(${row.en})`);
    expect(mrkdwn((escalation.blocks ?? []) as SlackBlock[])).toContain(`*Amount*\n${row.en}`);
  });

  it('escalation email (and the Slack fallback email): Amount fact in text and HTML', () => {
    const email = renderers.emailRefund(failed(row), 'escalation', 'Ask Antom.', undefined);
    expect(email.text.split('\n')[0]).toBe(`Escalation: refund R-${row.currency} failed with RISK_REJECT (${row.en}), payment P-${row.currency}`);
    expect(email.text).toContain(`Amount: ${row.en}\n`);
    expect(email.html).toContain(`<td style="padding:2px 0;">${row.en}</td>`);
  });

  it('admin API: the raw minor units stay, `formatted` is added next to them', () => {
    const view = adminRefundView({ id: 'R-1', refundAmount: { currency: row.currency, value: row.value }, customer: { email: 'jane@example.com' } });
    expect(view).toEqual({ id: 'R-1', refundAmount: { currency: row.currency, value: row.value, formatted: row.en }, customer: { email: 'j***@e***.com' } });
  });
});

describe('grouped escalations over the whole table', () => {
  const group = { key: { template: 'escalation' as const, parts: [{ field: 'reasonCode' as const, value: 'RISK_REJECT' }] }, playbook: 'Ask Antom.', refunds: groupedRefunds(), windowStart: T0, windowEnd: T0 + 19_000 };

  it('totals each currency exactly, by code, and lists each refund with its amount', () => {
    const summary = escalationGroupSummary(group);
    expect(summary.totals).toEqual(byCode.map((r) => ({ currency: r.currency, value: String(BigInt(r.value) * 2n), formatted: r.doubled })));
    const content = escalationGroupContent(group);
    expect(content.facts).toContainEqual({ label: 'Total', value: allTotals });
    expect(content.text).toBe(`Escalation: 20 refunds failed with RISK_REJECT, ${allTotals}`);
    const items = content.sections![0]!.items;
    for (const row of TABLE) expect(items).toContain(`R-${row.currency}-0 · payment P-${row.currency}-0 · ${row.en} · ${new Date(T0 + TABLE.indexOf(row) * 2000).toISOString().replace('.000', '')}`);
  });

  it('Slack group message and the summary email carry the same totals and lines', () => {
    const slack = groupMessage(group);
    expect(slack.text).toContain(allTotals);
    const texts = mrkdwn(slack.blocks).join('\n');
    expect(texts).toContain(`*Total*\n${allTotals}`);
    for (const row of TABLE) expect(texts).toContain(`· ${row.en} ·`);

    const email = renderEscalationEmail(escalationGroupContent(group), templates);
    expect(email.text).toContain(`Total: ${allTotals}\n`);
    for (const row of TABLE) expect(email.text).toContain(`· ${row.en} ·`);
    expect(email.html).toContain(`<td style="padding:2px 0;">${allTotals}</td>`);
    expect(renderers.emailGroup(group).text).toContain(`Total: ${allTotals}\n`);
  });
});

describe('outage summaries over the whole table', () => {
  const items: OutageItem[] = TABLE.flatMap((row) =>
    [0, 1].map(() => ({ template: 'ops-line' as const, event: 'refund.completed' as const, refundAmount: { currency: row.currency, value: row.value } })),
  );
  const info = { since: T0, until: T0 + 600_000, channel: '#refunds' };

  it('totals by currency in the Slack summary and in its email form', () => {
    const summary = outageSummary(items);
    expect(summary.totals.map((t) => t.formatted)).toEqual(byCode.map((r) => r.doubled));
    const slack = outageMessage(summary, info);
    expect(mrkdwn(slack.blocks)).toContain(`*Amount*\n${allTotals}`);
    expect(renderers.slackOutage(items, info).blocks).toEqual(slack.blocks);
    const email = renderEscalationEmail(outageSummaryContent(summary, info), templates);
    expect(email.text).toContain(`Amount: ${allTotals}\n`);
  });
});

describe('a currency ISO gives no minor unit', () => {
  it('shows its value unshifted, labelled as minor units, everywhere', () => {
    const xau: Row = { currency: 'XAU', value: '1250', en: '', es: '', fr: '', de: '', ja: '', doubled: '' };
    expect(renderCustomerCompleted(subject(xau, { customer: { locale: 'fr' } }), templates).text).toContain('XAU 1250 (minor units)');
    expect(refundMessage(subject(xau), 'ops-line').text).toContain('(XAU 1250 (minor units))');
    expect(adminRefundView({ refundAmount: { currency: 'XAU', value: '1250' } }).refundAmount?.formatted).toBe('XAU 1250 (minor units)');
    expect(outageSummary([{ template: 'ops-line', refundAmount: { currency: 'XAU', value: '1250' } }, { template: 'ops-line', refundAmount: { currency: 'XAU', value: '1' } }]).totals).toEqual([
      { currency: 'XAU', value: '1251', formatted: 'XAU 1251 (minor units)' },
    ]);
  });
});
