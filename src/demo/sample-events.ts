import type { Message } from 'kafkajs';
import type { Scenario } from '../simulator/scenario.js';

/**
 * The demo's sample refund-initiated records: one of each accepted shape, outcomes of every kind
 * at the Antom sandbox (success at once, after a wait, pushed by notifyRefund; failures with
 * escalation codes; one that never finishes), a duplicate, and the kinds of bad record the
 * dead-letter topic exists for.
 */
export interface SampleEvent {
  readonly label: string;
  readonly expect: 'completed' | 'failed' | 'stalled' | 'duplicate' | 'dead-letter';
  /** What the Antom sandbox plays for this refund. */
  readonly scenario?: Scenario;
  readonly message: Message;
}

function refund(id: string, over: Record<string, unknown> = {}) {
  return {
    refundId: id,
    refundRequestId: `REQ-${id}`,
    paymentId: `PAY-${id}`,
    refundAmount: { currency: 'USD', value: '1250' },
    merchantAccountId: 'M-DEMO',
    paymentMethodType: 'ALIPAY_CN',
    refundReason: 'customer returned the item',
    customer: { email: 'jane.doe@example.com', name: 'Jane Doe', locale: 'en' },
    metadata: { orderId: `ORD-${id.slice(-3)}` },
    ...over,
  };
}

const balance: Scenario = { final: 'FAIL', failCode: 'MERCHANT_BALANCE_NOT_ENOUGH', failureReporting: 'result-code' };

export function sampleEvents(runId: string): SampleEvent[] {
  const id = (n: string) => `DEMO-${runId}-${n}`;
  const plain = (n: string, label: string, expect: SampleEvent['expect'], scenario: Scenario, over: Record<string, unknown> = {}): SampleEvent => ({
    label,
    expect,
    scenario,
    message: { key: id(n), value: JSON.stringify(refund(id(n), over)) },
  });
  return [
    plain('001', 'plain JSON; Antom: SUCCESS at once', 'completed', {}),
    {
      label: 'CloudEvent, structured; JPY; Antom: SUCCESS after 2 PENDING',
      expect: 'completed',
      scenario: { pendingInquiries: 2 },
      message: {
        key: id('002'),
        headers: { 'content-type': 'application/cloudevents+json' },
        value: JSON.stringify({
          specversion: '1.0',
          id: `evt-${id('002')}`,
          source: '/checkout',
          type: 'com.example.refund.initiated',
          datacontenttype: 'application/json',
          data: refund(id('002'), {
            refundAmount: { currency: 'JPY', value: 4800 },
            customer: { email: 'taro@example.jp', name: '山田 太郎', locale: 'ja' },
          }),
        }),
      },
    },
    {
      label: 'CloudEvent, binary; KWD; hostile name; Antom: SUCCESS',
      expect: 'completed',
      scenario: {},
      message: {
        key: id('003'),
        headers: {
          ce_specversion: '1.0',
          ce_id: `evt-${id('003')}`,
          ce_source: '/checkout',
          ce_type: 'com.example.refund.initiated',
          'content-type': 'application/json',
        },
        value: JSON.stringify(
          refund(id('003'), {
            refundAmount: { currency: 'KWD', value: '12500' },
            customer: { email: 'amal@example.kw', name: '<script>alert(1)</script>', locale: 'en' },
          }),
        ),
      },
    },
    // A merchant not in the demo's merchants.yaml: its customer's email carries the service's
    // defaults (EMAIL_FROM, the shipped wording), not M-DEMO's brand.
    plain('004', 'French customer of an unlisted merchant (M-PARTNER: no brand); Antom: pushes notifyRefund after 2.5 s', 'completed', { pendingMs: 2500 }, {
      merchantAccountId: 'M-PARTNER',
      refundAmount: { currency: 'EUR', value: '1999' },
      customer: { email: 'marie@example.fr', name: 'Marie Dupont', locale: 'fr' },
    }),
    // Customers whose languages are written in other scripts: Chinese and Korean (CJK fonts) and
    // Arabic (right to left; amounts in Latin digits, as Gulf bank statements show them). Each
    // gets the template of their language (docs/notifications.md, "Locales, amounts and dates").
    plain('010', 'Chinese customer (zh-CN); CNY; Antom: SUCCESS at once', 'completed', {}, {
      refundAmount: { currency: 'CNY', value: '36800' },
      customer: { email: 'wang.fang@example.cn', name: '王芳', locale: 'zh-CN' },
    }),
    plain('011', 'Korean customer (ko-KR); KRW; Antom: SUCCESS after 1 PENDING', 'completed', { pendingInquiries: 1 }, {
      refundAmount: { currency: 'KRW', value: '59000' },
      customer: { email: 'minjun.kim@example.kr', name: '김민준', locale: 'ko-KR' },
    }),
    plain('012', 'Arabic customer (ar-KW); KWD; Antom: SUCCESS', 'completed', {}, {
      refundAmount: { currency: 'KWD', value: '7250' },
      customer: { email: 'fatima.alsabah@example.kw', name: 'فاطمة الصباح', locale: 'ar-KW' },
    }),
    plain('005', 'Antom: FAIL, MERCHANT_BALANCE_NOT_ENOUGH', 'failed', balance),
    plain('006', 'Antom: FAIL, MERCHANT_BALANCE_NOT_ENOUGH (grouped)', 'failed', balance, { refundAmount: { currency: 'USD', value: '8000' } }),
    plain('007', 'Antom: FAIL, MERCHANT_BALANCE_NOT_ENOUGH (grouped)', 'failed', balance, { refundAmount: { currency: 'EUR', value: '500' } }),
    plain('008', 'Antom: FAIL, RISK_REJECT', 'failed', { final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code' }),
    plain('009', 'Antom: never final (stalls)', 'stalled', { final: 'PENDING' }, { customer: undefined }),
    {
      label: 'the same refund again (a producer retry)',
      expect: 'duplicate',
      message: { key: id('001'), value: JSON.stringify(refund(id('001'))) },
    },
    { label: 'not JSON', expect: 'dead-letter', message: { key: id('bad-1'), value: 'refund DEMO-1 please' } },
    { label: 'paymentId missing', expect: 'dead-letter', message: { key: id('bad-2'), value: JSON.stringify({ refundId: id('bad-2') }) } },
    {
      label: 'refundId longer than 64 characters',
      expect: 'dead-letter',
      message: { key: id('bad-3'), value: JSON.stringify(refund(`${id('bad-3')}-${'x'.repeat(64)}`)) },
    },
    {
      label: 'metadata over 4 KiB',
      expect: 'dead-letter',
      message: { key: id('bad-4'), value: JSON.stringify(refund(id('bad-4'), { metadata: { note: 'x'.repeat(5000) } })) },
    },
    {
      label: 'CloudEvent without data',
      expect: 'dead-letter',
      message: {
        key: id('bad-5'),
        value: JSON.stringify({ specversion: '1.0', id: 'evt-bad-5', source: '/checkout', type: 'refund.initiated' }),
      },
    },
  ];
}
