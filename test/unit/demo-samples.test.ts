import { describe, expect, it } from 'vitest';
import { parseRefundRecord } from '../../src/adapters/kafka/decode-record.js';
import { renderCustomerCompleted } from '../../src/adapters/email/render.js';
import { loadTemplates } from '../../src/adapters/email/templates.js';
import { sampleEvents } from '../../src/demo/sample-events.js';
import type { NewRefund } from '../../src/domain/refund.js';

/**
 * The demo's sample records (src/demo/sample-events.ts) are what `npm run demo` shows a newcomer:
 * each must be read by the ingest as its label says, and the customers who get an email must
 * cover the scripts the templates are written for.
 */
const samples = sampleEvents('T');
const consumedAt = Date.UTC(2026, 0, 1);

function ingest(value: Buffer | string | null | undefined, headers: Record<string, string> | undefined) {
  return parseRefundRecord(
    { value: value === undefined || value === null ? null : Buffer.from(value), headers, timestamp: String(consumedAt), offset: '0' },
    { topic: 'refund-initiated', partition: 0, antomApi: 'v2' },
    consumedAt,
  );
}

const tracked = samples
  .filter((s) => s.expect !== 'dead-letter')
  .map((s) => ({ sample: s, parsed: ingest(s.message.value, s.message.headers as Record<string, string> | undefined) }));

const completed: NewRefund[] = tracked.flatMap(({ sample, parsed }) => (sample.expect === 'completed' && parsed.ok ? [parsed.refund] : []));

describe('the demo samples', () => {
  it('are read by the ingest as their labels say: refunds tracked, bad records refused', () => {
    for (const { sample, parsed } of tracked) expect(parsed, sample.label).toMatchObject({ ok: true });
    for (const s of samples.filter((x) => x.expect === 'dead-letter')) {
      expect(ingest(s.message.value, s.message.headers as Record<string, string> | undefined), s.label).toMatchObject({ ok: false });
    }
  });

  it('complete for customers writing Latin, Japanese, Chinese, Korean and Arabic, each in a currency of their market', () => {
    const customers = completed.map((r) => `${r.customer?.locale} ${r.refundAmount?.currency}`);
    expect(customers).toEqual(expect.arrayContaining(['en USD', 'ja JPY', 'fr EUR', 'zh-CN CNY', 'ko-KR KRW', 'ar-KW KWD']));
    for (const r of completed.filter((x) => ['zh-CN', 'ko-KR', 'ar-KW'].includes(x.customer?.locale ?? ''))) {
      expect(r.customer?.email).toMatch(/@example\.(cn|kr|kw)$/);
    }
  });

  it("render every completed customer's email, in their language's template or English", () => {
    const templates = loadTemplates();
    for (const r of completed) {
      const email = renderCustomerCompleted(
        { event: 'refund.completed', refundKey: r.id, refundId: r.id, paymentId: r.paymentId, status: 'SUCCESS', detectedAt: consumedAt, ...(r.refundAmount && { refundAmount: r.refundAmount }), ...(r.customer && { customer: r.customer }), ...(r.metadata && { metadata: r.metadata }) },
        templates,
      );
      expect(email.html, r.id).toContain(r.id);
      expect(email.subject.length, r.id).toBeGreaterThan(0);
    }
  });
});
