import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RefundStore } from '../../src/app/ports.js';
import type { NewRefund } from '../../src/domain/refund.js';

/** A refund as the ingest would produce it. */
export function newRefund(n: number, over: Partial<NewRefund> = {}): NewRefund {
  const refundId = `R-${String(n).padStart(6, '0')}`;
  return {
    id: refundId,
    refundId,
    refundRequestId: `RQ-${n}`,
    paymentId: `P-${n}`,
    refundAmount: { currency: 'USD', value: String(1000 + n) },
    customer: { email: `c${n}@example.com`, name: `Customer ${n}`, locale: 'en' },
    initiatedAt: '2026-11-25T10:00:00.000Z',
    metadata: { orderId: `O-${n}`, nested: { ok: true } },
    origin: { topic: 'refunds.initiated', partition: 0, offset: String(n) },
    ...over,
  };
}

/**
 * The behaviour every RefundStore must have (BullMQ's adapter conformance habit): the same
 * suite runs against SQLite and PostgreSQL.
 */
export function describeRefundStoreContract(name: string, open: () => Promise<RefundStore>): void {
  describe(`RefundStore contract: ${name}`, () => {
    let store: RefundStore;
    const now = Date.parse('2026-11-25T10:00:01Z');
    const ctx = { now, firstPollAt: now + 5_000 };

    beforeEach(async () => {
      store = await open();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('migrate is idempotent', async () => {
      await store.migrate();
      await store.migrate();
      await store.ping();
    });

    it('tracks new refunds as pending, due at the first poll time, with a timeline entry', async () => {
      const result = await store.trackRefunds([newRefund(1), newRefund(2)], ctx);
      expect(result).toEqual({ inserted: ['R-000001', 'R-000002'], duplicates: 0 });
      const r = await store.getRefund('R-000001');
      expect(r).toMatchObject({
        id: 'R-000001',
        refundId: 'R-000001',
        refundRequestId: 'RQ-1',
        paymentId: 'P-1',
        refundAmount: { currency: 'USD', value: '1001' },
        customer: { email: 'c1@example.com', name: 'Customer 1', locale: 'en' },
        metadata: { orderId: 'O-1', nested: { ok: true } },
        origin: { topic: 'refunds.initiated', partition: 0, offset: '1' },
        status: 'pending',
        inquiries: 0,
        escalated: false,
        nextPollAt: now + 5_000,
        recordedAt: now,
      });
      const timeline = await store.timeline('R-000001');
      expect(timeline).toHaveLength(1);
      expect(timeline[0]).toMatchObject({ kind: 'tracked', at: now, refundKey: 'R-000001' });
    });

    it('is idempotent by refund id: a duplicate changes nothing', async () => {
      await store.trackRefunds([newRefund(1)], ctx);
      const later = { now: now + 60_000, firstPollAt: now + 65_000 };
      const again = await store.trackRefunds(
        [newRefund(1, { paymentId: 'P-other', refundAmount: { currency: 'EUR', value: '1' } })],
        later,
      );
      expect(again).toEqual({ inserted: [], duplicates: 1 });
      const r = await store.getRefund('R-000001');
      expect(r).toMatchObject({ paymentId: 'P-1', refundAmount: { currency: 'USD', value: '1001' }, recordedAt: now });
      expect(await store.timeline('R-000001')).toHaveLength(1);
    });

    it('is idempotent by refundRequestId too', async () => {
      await store.trackRefunds([newRefund(1)], ctx);
      const sameRequest = newRefund(2, { refundRequestId: 'RQ-1' });
      expect(await store.trackRefunds([sameRequest], ctx)).toEqual({ inserted: [], duplicates: 1 });
      expect(await store.getRefund('R-000002')).toBeUndefined();
    });

    it('within one batch the first record for a refund wins', async () => {
      const result = await store.trackRefunds([newRefund(1), newRefund(1, { paymentId: 'P-late' }), newRefund(3)], ctx);
      expect(result).toEqual({ inserted: ['R-000001', 'R-000003'], duplicates: 1 });
      expect((await store.getRefund('R-000001'))?.paymentId).toBe('P-1');
    });

    it('keeps optional fields absent rather than inventing them', async () => {
      const bare: NewRefund = {
        id: 'request:RQ-9',
        refundRequestId: 'RQ-9',
        paymentId: 'P-9',
        initiatedAt: '2026-11-25T10:00:00Z',
        origin: { topic: 't', partition: 3, offset: '9', eventId: 'ev-9' },
      };
      await store.trackRefunds([bare], ctx);
      const r = await store.getRefund('request:RQ-9');
      expect(r).toBeDefined();
      expect(r!.refundId).toBeUndefined();
      expect(r!.refundAmount).toBeUndefined();
      expect(r!.customer).toBeUndefined();
      expect(r!.metadata).toBeUndefined();
      expect(r!.origin).toEqual({ topic: 't', partition: 3, offset: '9', eventId: 'ev-9' });
    });

    it('writes large batches beyond one statement', async () => {
      const many = Array.from({ length: 2_500 }, (_, i) => newRefund(i));
      const result = await store.trackRefunds(many, ctx);
      expect(result.inserted).toHaveLength(2_500);
      expect((await store.countByStatus()).pending).toBe(2_500);
    });

    it('lists with a status filter and keyset pagination', async () => {
      await store.trackRefunds([newRefund(3), newRefund(1), newRefund(2)], ctx);
      const page1 = await store.listRefunds({ status: 'pending', limit: 2 });
      expect(page1.map((r) => r.id)).toEqual(['R-000001', 'R-000002']);
      const page2 = await store.listRefunds({ status: 'pending', limit: 2, after: 'R-000002' });
      expect(page2.map((r) => r.id)).toEqual(['R-000003']);
      expect(await store.listRefunds({ status: 'completed' })).toEqual([]);
    });

    it('close is idempotent', async () => {
      const first = store.close();
      expect(store.close()).toBe(first);
      await first;
      store = await open(); // afterEach closes this one
    });
  });
}
