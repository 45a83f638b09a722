import { describe, expect, it } from 'vitest';
import { ask, bodyOf, harness, resultOf, T0 } from './world-harness.js';

/** The shapes of the sandbox's answers, v1 against v2, as the refund world produces them. */

describe('answers: v1 and v2', () => {
  it('spell the same refund with their own fields and statuses', () => {
    const { world } = harness();
    const refund = world.createRefund({ refundId: 'R1', refundRequestId: 'RR1', paymentId: 'P1', refundAmount: { currency: 'EUR', value: '1250' } });
    const refundTime = new Date(T0).toISOString();
    expect(bodyOf(ask(world, 'R1', 'v1').reply)).toEqual({
      result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
      refundId: 'R1',
      refundRequestId: 'RR1',
      refundAmount: { currency: 'EUR', value: '1250' },
      refundStatus: 'SUCCESS',
      refundTime,
    });
    const v2 = bodyOf(ask(world, 'R1', 'v2').reply);
    expect(Object.keys(v2).sort()).toEqual(['paymentId', 'refundId', 'refundStatus', 'refundTime', 'result']);
    expect(v2).toMatchObject({ refundId: 'R1', paymentId: 'P1', refundStatus: 'SUCCESS', refundTime, result: { resultStatus: 'S' } });
    expect(refund.refundTime).toBe(refundTime);
  });

  it('pending and failed: PROCESSING / FAIL on v1, PENDING / FAILED on v2, no refundTime', () => {
    const { world } = harness();
    world.createRefund({ refundId: 'P', final: 'PENDING' });
    world.createRefund({ refundId: 'F', final: 'FAIL' });
    expect(bodyOf(ask(world, 'P', 'v1').reply)).toMatchObject({ refundStatus: 'PROCESSING' });
    expect(bodyOf(ask(world, 'P', 'v2').reply)).toMatchObject({ refundStatus: 'PENDING' });
    const failV1 = bodyOf(ask(world, 'F', 'v1').reply);
    const failV2 = bodyOf(ask(world, 'F', 'v2').reply);
    expect(failV1).toMatchObject({ refundStatus: 'FAIL', result: { resultStatus: 'S' } });
    expect(failV2).toMatchObject({ refundStatus: 'FAILED', result: { resultStatus: 'S' } });
    expect(failV1).not.toHaveProperty('refundTime');
    expect(failV2).not.toHaveProperty('refundTime');
  });

  it('failureReporting result-code answers F with the fail code, DPOS-prefixed on v2', () => {
    const { world } = harness();
    world.createRefund({ refundId: 'F', final: 'FAIL', failCode: 'MERCHANT_BALANCE_NOT_ENOUGH', failureReporting: 'result-code' });
    const v1 = ask(world, 'F', 'v1');
    const v2 = ask(world, 'F', 'v2');
    expect(bodyOf(v1.reply)).toEqual({
      result: { resultCode: 'MERCHANT_BALANCE_NOT_ENOUGH', resultStatus: 'F', resultMessage: 'Merchant balance is insufficient' },
    });
    expect(v1.label).toBe('MERCHANT_BALANCE_NOT_ENOUGH');
    expect(v2.label).toBe('DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH');
    expect(world.seen('F').inquiries.map((i) => i.resultCode)).toEqual(['MERCHANT_BALANCE_NOT_ENOUGH', 'DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH']);
  });

  it('v2 leaves resultCode out for about half the refunds, the same way on every inquiry; v1 never does', () => {
    const { world } = harness();
    const ids = Array.from({ length: 20 }, (_, i) => `R${i + 1}`);
    for (const refundId of ids) world.createRefund({ refundId });
    const withCode = ids.filter((id) => 'resultCode' in resultOf(ask(world, id, 'v2').reply));
    expect(withCode.length).toBeGreaterThan(0);
    expect(withCode.length).toBeLessThan(ids.length);
    for (const id of ids) {
      expect('resultCode' in resultOf(ask(world, id, 'v2').reply)).toBe(withCode.includes(id));
      expect(resultOf(ask(world, id, 'v1').reply)).toMatchObject({ resultCode: 'SUCCESS', resultStatus: 'S' });
    }
    const without = ids.find((id) => !withCode.includes(id)) as string;
    expect(resultOf(ask(world, without, 'v2').reply)).toEqual({ resultStatus: 'S', resultMessage: 'success' });
    // What the record says was answered: no code at all.
    expect(world.seen(without).inquiries[0]?.resultCode).toBe('');
  });
});

describe('refund requests', () => {
  const request = { api: 'v1' as const, clientId: 'SANDBOX_MERCHANT', refundRequestId: 'RR1', paymentId: 'P1', refundAmount: { currency: 'USD', value: '500' } };

  it('are idempotent on refundRequestId: same fields, same refund; other fields, REPEAT_REQ_INCONSISTENT', () => {
    const { world } = harness();
    const first = world.requestRefund(request);
    expect(first.label).toBe('REFUND_ACCEPTED');
    const again = world.requestRefund(request);
    expect(bodyOf(again.reply).refundId).toBe(bodyOf(first.reply).refundId);
    expect(world.counts().refunds).toBe(1);
    const other = world.requestRefund({ ...request, refundAmount: { currency: 'USD', value: '501' } });
    expect(other.label).toBe('REPEAT_REQ_INCONSISTENT');
    expect(resultOf(other.reply)).toMatchObject({ resultCode: 'REPEAT_REQ_INCONSISTENT', resultStatus: 'F' });
  });

  it('answer v2 with the ids only, v1 with the payment and amount too', () => {
    const { world } = harness();
    expect(Object.keys(bodyOf(world.requestRefund({ ...request, api: 'v2' }).reply)).sort()).toEqual(['refundId', 'refundRequestId', 'result']);
    const v1 = bodyOf(world.requestRefund({ ...request, refundRequestId: 'RR2' }).reply);
    expect(v1).toMatchObject({ refundRequestId: 'RR2', paymentId: 'P1', refundAmount: { currency: 'USD', value: '500' } });
  });
});
