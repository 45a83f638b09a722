import { describe, expect, it } from 'vitest';
import {
  MAX_LISTED_REFUNDS,
  describeRefund,
  escalationGroupContent,
  escalationGroupSummary,
  formatElapsed,
  orderReference,
  outageSummary,
  outageSummaryContent,
  refundContent,
  stalledReminderContent,
  type GroupedRefund,
} from '../../../src/domain/notification-content.js';
import type { GroupField, NotificationSubject } from '../../../src/domain/routing.js';

const T0 = Date.UTC(2024, 10, 25, 16, 0, 0);

const failed: NotificationSubject = {
  event: 'refund.failed',
  refundKey: 'R-1',
  refundId: 'R-1',
  refundRequestId: 'REQ-1',
  paymentId: 'P-1',
  status: 'FAIL',
  reasonCode: 'RISK_REJECT',
  resultCode: 'DPOS_PAYMENT_RISK_REJECT',
  resultMessage: 'Rejected because of risk control',
  refundAmount: { currency: 'KWD', value: '1250' },
  merchantAccountId: 'M-1',
  paymentMethodType: 'CARD',
  customer: { email: 'jane@example.com', name: 'Jane' },
  escalate: true,
  detectedAt: T0,
  inquiries: 4,
  metadata: { orderId: 'ORD-77' },
};

function refunds(n: number, currency = 'USD'): GroupedRefund[] {
  return Array.from({ length: n }, (_, i) => ({
    refundKey: `R-${i}`,
    refundId: `R-${i}`,
    paymentId: `P-${i}`,
    refundAmount: { currency, value: '1000' },
    detectedAt: T0 + i * 1000,
  }));
}

describe('describeRefund', () => {
  it('lists the facts an operator needs, amount formatted for its currency, no customer data', () => {
    expect(describeRefund(failed)).toEqual([
      { label: 'Refund', value: 'R-1' },
      { label: 'Refund request', value: 'REQ-1' },
      { label: 'Payment', value: 'P-1' },
      { label: 'Order', value: 'ORD-77' },
      { label: 'Amount', value: 'KWD\u00a01.250' },
      { label: 'Status', value: 'FAIL' },
      { label: 'Reason', value: 'RISK_REJECT' },
      { label: 'Antom result', value: 'DPOS_PAYMENT_RISK_REJECT: Rejected because of risk control' },
      { label: 'Merchant account', value: 'M-1' },
      { label: 'Payment method', value: 'CARD' },
      { label: 'Inquiries', value: '4' },
      { label: 'Detected', value: '2024-11-25T16:00:00Z' },
    ]);
    expect(JSON.stringify(describeRefund(failed))).not.toContain('jane');
  });

  it('leaves out what the event does not carry, and names a v1 refund by its request id', () => {
    const v1: NotificationSubject = { event: 'refund.completed', refundKey: 'request:REQ-9', refundRequestId: 'REQ-9', paymentId: 'P-9', detectedAt: T0 };
    expect(describeRefund(v1)).toEqual([
      { label: 'Refund', value: 'REQ-9' },
      { label: 'Payment', value: 'P-9' },
      { label: 'Detected', value: '2024-11-25T16:00:00Z' },
    ]);
  });

  it('finds an order reference in the usual metadata keys', () => {
    expect(orderReference({ orderNumber: 12345 })).toBe('12345');
    expect(orderReference({ order_id: ' A-1 ' })).toBe('A-1');
    expect(orderReference({ order: { nested: true } })).toBeUndefined();
    expect(orderReference(undefined)).toBeUndefined();
  });
});

describe('refundContent', () => {
  it('says what happened in one line for each template', () => {
    expect(refundContent({ ...failed, event: 'refund.completed', reasonCode: undefined, status: 'SUCCESS' }, 'ops-line').text).toBe(
      'Refund R-1 completed (KWD\u00a01.250), payment P-1',
    );
    expect(refundContent(failed, 'ops-line').text).toBe('Refund R-1 failed: RISK_REJECT (KWD\u00a01.250), payment P-1');
    const escalation = refundContent(failed, 'escalation', { playbook: 'Call Antom.' });
    expect(escalation.title).toBe('Escalation: refund failed with RISK_REJECT');
    expect(escalation.severity).toBe('critical');
    expect(escalation.playbook).toBe('Call Antom.');
    const stalled = refundContent({ ...failed, event: 'refund.stalled', status: 'PENDING', reasonCode: undefined, stage: 2 }, 'stalled');
    expect(stalled.title).toBe('Refund stalled (stage 2): still PENDING');
    expect(stalled.playbook).toMatch(/Polling goes on/);
    expect(refundContent({ ...failed, event: 'integration.fault', reasonCode: 'KEY_NOT_FOUND' }, 'integration-fault').title).toBe(
      'Integration fault: KEY_NOT_FOUND',
    );
  });
});

describe('escalationGroupSummary', () => {
  it('counts distinct refunds, totals them per currency and lists the oldest first', () => {
    const group = {
      key: { template: 'escalation' as const, parts: [{ field: 'reasonCode' as const, value: 'MERCHANT_BALANCE_NOT_ENOUGH' }] },
      playbook: 'Top up.',
      refunds: [...refunds(2, 'USD'), ...refunds(1, 'JPY').map((r) => ({ ...r, refundKey: 'J-0', detectedAt: T0 - 5000 })), refunds(1)[0]!],
      windowStart: T0 - 5000,
      windowEnd: T0 + 1000,
    };
    const summary = escalationGroupSummary(group);
    expect(summary.count).toBe(3);
    expect(summary.totals).toEqual([
      { currency: 'JPY', value: '1000', formatted: '¥1,000' },
      { currency: 'USD', value: '2000', formatted: '$20.00' },
    ]);
    expect(summary.listed.map((r) => r.refundKey)).toEqual(['J-0', 'R-0', 'R-1']);
    expect(summary.more).toBe(0);
    expect(summary.playbook).toBe('Top up.');
  });

  it(`lists at most ${MAX_LISTED_REFUNDS} refunds and says how many more there are`, () => {
    const summary = escalationGroupSummary({ key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] }, refunds: refunds(1000), windowStart: T0, windowEnd: T0 + 300_000 });
    expect(summary.count).toBe(1000);
    expect(summary.listed).toHaveLength(MAX_LISTED_REFUNDS);
    expect(summary.more).toBe(1000 - MAX_LISTED_REFUNDS);
    expect(summary.totals).toEqual([{ currency: 'USD', value: '1000000', formatted: '$10,000.00' }]);
  });

  it('becomes one message: count, totals, window, playbook and the list', () => {
    const content = escalationGroupContent({ key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] }, playbook: 'Ask Antom.', refunds: refunds(25), windowStart: T0, windowEnd: T0 + 24_000 });
    expect(content.text).toBe('Escalation: 25 refunds failed with RISK_REJECT, $250.00');
    expect(content.facts).toEqual([
      { label: 'Reason', value: 'RISK_REJECT' },
      { label: 'Refunds', value: '25' },
      { label: 'Total', value: '$250.00' },
      { label: 'First', value: '2024-11-25T16:00:00Z' },
      { label: 'Last', value: '2024-11-25T16:00:24Z' },
    ]);
    expect(content.playbook).toBe('Ask Antom.');
    expect(content.sections?.[0]?.items[0]).toBe('R-0 · payment P-0 · $10.00 · 2024-11-25T16:00:00Z');
    expect(content.sections?.[0]?.items).toHaveLength(20);
    expect(content.sections?.[0]?.more).toBe(5);
  });
});

describe('a group keyed by several fields', () => {
  const byFields = (template: 'escalation' | 'integration-fault' | 'stalled', ...parts: Array<[GroupField, string]>) => ({
    key: { template, parts: parts.map(([field, value]) => ({ field, value })) },
    refunds: refunds(3),
    windowStart: T0,
    windowEnd: T0 + 2_000,
  });

  it('names each field it is keyed by, so a currency never reads as a reason code', () => {
    const twoFields = escalationGroupContent(byFields('escalation', ['reasonCode', 'RISK_REJECT'], ['currency', 'USD']));
    expect(twoFields.text).toBe('Escalation: 3 refunds failed with RISK_REJECT in USD, $30.00');
    expect(twoFields.facts.slice(0, 2)).toEqual([
      { label: 'Reason', value: 'RISK_REJECT' },
      { label: 'Currency', value: 'USD' },
    ]);
    const currencyOnly = escalationGroupContent(byFields('escalation', ['currency', 'USD']));
    expect(currencyOnly.text).toBe('Escalation: 3 refunds failed in USD, $30.00');
    expect(currencyOnly.facts[0]).toEqual({ label: 'Currency', value: 'USD' });
    expect(currencyOnly.facts.map((f) => f.label)).not.toContain('Reason');
  });

  it('reads merchant, payment method and fault groups as a person would', () => {
    expect(escalationGroupContent(byFields('escalation', ['merchantAccountId', 'M-9'], ['paymentMethodType', 'ALIPAY_CN'])).text).toBe(
      'Escalation: 3 refunds failed (merchant account M-9) (payment method ALIPAY_CN), $30.00',
    );
    expect(escalationGroupContent(byFields('integration-fault', ['reasonCode', 'KEY_NOT_FOUND'])).title).toBe('3 refunds hit integration fault KEY_NOT_FOUND');
    // A field the refunds lack (`-`) is not shown.
    expect(escalationGroupContent(byFields('stalled', ['reasonCode', '-'])).title).toBe('3 refunds stalled');
  });
});

describe('reminders and outage summaries', () => {
  it('says how long a stalled refund has been waiting', () => {
    const content = stalledReminderContent(
      { ...failed, event: 'refund.stalled', status: 'PENDING' },
      { reminder: 2, stalledSince: T0, now: T0 + 26 * 3_600_000 + 5 * 60_000 },
    );
    expect(content.kind).toBe('reminder');
    expect(content.title).toBe('Still not final after 1d 2h: refund R-1');
    expect(content.text).toBe('Reminder 2: refund R-1 is still not final 1d 2h after it stalled (last status PENDING)');
  });

  it('formats elapsed time in two units at most', () => {
    expect(formatElapsed(0)).toBe('0s');
    expect(formatElapsed(150_000)).toBe('2m 30s');
    expect(formatElapsed(90_061_000)).toBe('1d 1h');
  });

  it('counts a backlog by event, template and reason code, most frequent first', () => {
    const items = [
      ...Array.from({ length: 3 }, () => ({ template: 'escalation' as const, event: 'refund.failed' as const, reasonCode: 'RISK_REJECT', refundAmount: { currency: 'USD', value: '100' } })),
      { template: 'ops-line' as const, event: 'refund.failed' as const, reasonCode: 'ORDER_IS_CANCELED' },
      ...Array.from({ length: 5 }, () => ({ template: 'ops-line' as const, event: 'refund.completed' as const })),
    ];
    const summary = outageSummary(items);
    expect(summary.total).toBe(9);
    expect(summary.byEvent).toEqual([
      { key: 'refund.completed', count: 5 },
      { key: 'refund.failed', count: 4 },
    ]);
    expect(summary.byTemplate).toEqual([
      { key: 'ops-line', count: 6 },
      { key: 'escalation', count: 3 },
    ]);
    expect(summary.byReasonCode).toEqual([
      { key: 'RISK_REJECT', count: 3 },
      { key: 'ORDER_IS_CANCELED', count: 1 },
    ]);
    const content = outageSummaryContent(summary, { since: T0, until: T0 + 600_000, channel: 'Slack' });
    expect(content.text).toBe('9 notifications for Slack were held back between 2024-11-25T16:00:00Z and 2024-11-25T16:10:00Z');
    expect(content.sections?.map((s) => s.heading)).toEqual(['By event', 'By message', 'By reason code']);
    expect(content.sections?.[2]?.items).toEqual(['RISK_REJECT: 3', 'ORDER_IS_CANCELED: 1']);
    expect(content.facts).toContainEqual({ label: 'Amount', value: '$3.00' });
  });
});
