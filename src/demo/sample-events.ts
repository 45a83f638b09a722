import type { Message } from 'kafkajs';

/**
 * The demo's sample refund-initiated records: one of each accepted shape, a duplicate, and the
 * kinds of bad record the dead-letter topic exists for.
 */
export interface SampleEvent {
  readonly label: string;
  readonly expect: 'tracked' | 'duplicate' | 'dead-letter';
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
    metadata: { orderId: `ORD-${id}` },
    ...over,
  };
}

export function sampleEvents(runId: string): SampleEvent[] {
  const id = (n: string) => `DEMO-${runId}-${n}`;
  return [
    {
      label: 'plain JSON',
      expect: 'tracked',
      message: { key: id('001'), value: JSON.stringify(refund(id('001'))) },
    },
    {
      label: 'CloudEvent, structured mode (JPY, zero-decimal)',
      expect: 'tracked',
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
      label: 'CloudEvent, binary mode (KWD, three decimals)',
      expect: 'tracked',
      message: {
        key: id('003'),
        headers: {
          ce_specversion: '1.0',
          ce_id: `evt-${id('003')}`,
          ce_source: '/checkout',
          ce_type: 'com.example.refund.initiated',
          'content-type': 'application/json',
        },
        value: JSON.stringify(refund(id('003'), { refundAmount: { currency: 'KWD', value: '12500' } })),
      },
    },
    {
      label: 'the same refund again (a producer retry)',
      expect: 'duplicate',
      message: { key: id('001'), value: JSON.stringify(refund(id('001'))) },
    },
    {
      label: 'not JSON',
      expect: 'dead-letter',
      message: { key: id('bad-1'), value: 'refund DEMO-1 please' },
    },
    {
      label: 'paymentId missing',
      expect: 'dead-letter',
      message: { key: id('bad-2'), value: JSON.stringify({ refundId: id('bad-2') }) },
    },
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
    {
      label: 'after the bad ones: still processed',
      expect: 'tracked',
      message: { key: id('004'), value: JSON.stringify(refund(id('004'), { customer: undefined })) },
    },
  ];
}
