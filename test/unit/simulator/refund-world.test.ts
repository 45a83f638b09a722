import { describe, expect, it } from 'vitest';
import type { NotificationAttempt } from '../../../src/simulator/notifier.js';
import type { Scenario } from '../../../src/simulator/scenario.js';
import { ask, bodyOf, harness, resultOf, T0 } from './world-harness.js';

describe('settling a pending refund', () => {
  it('by inquiries: the first pendingInquiries answer PROCESSING, the next the final status', () => {
    const { world, deliveries } = harness();
    world.createRefund({ refundId: 'R1', pendingInquiries: 2 });
    expect(ask(world, 'R1').label).toBe('PROCESSING');
    expect(ask(world, 'R1').label).toBe('PROCESSING');
    expect(deliveries).toHaveLength(0);
    const third = ask(world, 'R1');
    expect(third.label).toBe('SUCCESS');
    expect(bodyOf(third.reply).refundStatus).toBe('SUCCESS');
    const seen = world.seen('R1');
    expect(seen.refund?.status).toBe('SUCCESS');
    expect(seen.refund?.inquiries).toBe(3);
    expect(seen.inquiries.map((i) => [i.n, i.answer])).toEqual([[1, 'PROCESSING'], [2, 'PROCESSING'], [3, 'SUCCESS']]);
    expect(deliveries.map((d) => [d.refundId, d.refundStatus, d.clientId])).toEqual([['R1', 'SUCCESS', 'SANDBOX_MERCHANT']]);
  });

  it('by time: a refund pending for time only settles and notifies without being asked', () => {
    const { world, deliveries, advance, pendingTimers } = harness({ timeScale: 60 });
    // One hour of Antom time at 60x is one real minute.
    world.createRefund({ refundId: 'R1', pendingMs: 3_600_000 });
    advance(59_999);
    expect(ask(world, 'R1').label).toBe('PROCESSING');
    advance(1);
    expect(world.seen('R1').refund?.status).toBe('SUCCESS');
    expect(world.seen('R1').refund?.finalizedAt).toBe(new Date(T0 + 60_000).toISOString());
    expect(deliveries).toHaveLength(1);
    // No request named a client before creation; the inquiry did.
    expect(deliveries[0]?.clientId).toBe('SANDBOX_MERCHANT');
    expect(pendingTimers()).toBe(0);
    expect(JSON.parse(deliveries[0]?.body ?? '{}')).toMatchObject({
      notifyType: 'REFUND_RESULT',
      result: { resultCode: 'SUCCESS', resultStatus: 'S' },
      refundStatus: 'SUCCESS',
      refundId: 'R1',
      refundTime: new Date(T0 + 60_000).toISOString(),
    });
  });

  it('with both inquiries and time, waits for both', () => {
    const { world, advance, deliveries } = harness();
    world.createRefund({ refundId: 'R1', pendingInquiries: 1, pendingMs: 1_000 });
    expect(ask(world, 'R1').label).toBe('PROCESSING');
    expect(ask(world, 'R1').label).toBe('PROCESSING');
    advance(1_000);
    // Not settled by the clock alone: it needs an inquiry past pendingInquiries.
    expect(world.seen('R1').refund?.status).toBe('PROCESSING');
    expect(ask(world, 'R1').label).toBe('SUCCESS');
    expect(deliveries).toHaveLength(1);
  });

  it('settles at once when nothing holds it, and never when final is PENDING', () => {
    const { world, advance, deliveries } = harness();
    expect(world.createRefund({ refundId: 'R1' }).status).toBe('SUCCESS');
    world.createRefund({ refundId: 'R2', final: 'PENDING', notify: true });
    advance(365 * 86_400_000);
    for (let i = 0; i < 5; i += 1) expect(ask(world, 'R2').label).toBe('PROCESSING');
    expect(deliveries.map((d) => d.refundId)).toEqual(['R1']);
  });

  it('pushes no notification when the scenario says notify: false, or no URL is known', () => {
    const { world, deliveries } = harness();
    world.createRefund({ refundId: 'R1', notify: false });
    expect(deliveries).toHaveLength(0);
    const noUrl = harness({ notifyUrl: undefined });
    noUrl.world.createRefund({ refundId: 'R2' });
    expect(noUrl.deliveries).toHaveLength(0);
    expect(deliveries).toHaveLength(0);
  });

  it('notifies a FAIL refund with its code, whatever the inquiries report', () => {
    const { world, deliveries } = harness();
    world.createRefund({ refundId: 'R1', final: 'FAIL', failCode: 'RISK_REJECT' });
    expect(deliveries[0]?.refundStatus).toBe('FAIL');
    expect(deliveries[0]?.clientId).toBe('SANDBOX_DEFAULT');
    expect(JSON.parse(deliveries[0]?.body ?? '{}').result).toEqual({
      resultCode: 'RISK_REJECT',
      resultStatus: 'F',
      resultMessage: 'Rejected because of risk control',
    });
  });
});

describe('faults', () => {
  it('are chosen by inquiry number, count as inquiries, and then the truth is answered', () => {
    const { world } = harness();
    world.createRefund({
      refundId: 'R1',
      pendingInquiries: 3,
      faults: [
        { kind: 'http-error', inquiries: [1], retryAfterSeconds: 5 },
        { kind: 'hang', inquiries: [2], hangMs: 100 },
        { kind: 'traffic-limit', inquiries: [3] },
        { kind: 'hang', inquiries: [5] },
      ],
    });
    const first = ask(world, 'R1');
    expect(first).toEqual({ label: 'http-error', reply: { kind: 'http-error', status: 503, retryAfterSeconds: 5 }, timing: { kind: 'now' } });
    const second = ask(world, 'R1');
    expect(second.label).toBe('hang');
    expect(second.timing).toEqual({ kind: 'after', ms: 100 });
    expect(bodyOf(second.reply).refundStatus).toBe('PROCESSING');
    const third = ask(world, 'R1');
    expect(third.label).toBe('traffic-limit');
    expect(resultOf(third.reply)).toMatchObject({ resultCode: 'REQUEST_TRAFFIC_EXCEED_LIMIT', resultStatus: 'U' });
    // Three inquiries answered, faults included: the fourth is past pendingInquiries.
    expect(ask(world, 'R1').label).toBe('SUCCESS');
    expect(ask(world, 'R1').timing).toEqual({ kind: 'never' });
    expect(world.seen('R1').inquiries.map((i) => [i.answer, i.httpStatus])).toEqual([
      ['http-error', 503],
      ['hang', 200],
      ['traffic-limit', 200],
      ['SUCCESS', 200],
      ['hang', 200],
    ]);
  });

  it('sign, leave unsigned, forge or truncate the normal answer as the kind says', () => {
    const { world } = harness();
    const kinds = ['unsigned', 'forged-signature', 'malformed-json', 'unsigned-error'] as const;
    world.createRefund({ refundId: 'R1', faults: kinds.map((kind, i) => ({ kind, inquiries: [i + 1] })) });
    const [unsigned, forged, malformed, unsignedError] = kinds.map(() => ask(world, 'R1').reply);
    expect(unsigned).toMatchObject({ kind: 'json', signing: 'unsigned', body: { refundStatus: 'SUCCESS' } });
    expect(forged).toMatchObject({ kind: 'json', signing: 'forged', body: { refundStatus: 'SUCCESS' } });
    expect(malformed).toMatchObject({ kind: 'json', signing: 'signed', malformed: true });
    expect(unsignedError).toMatchObject({ kind: 'json', signing: 'unsigned', body: { result: { resultCode: 'UNKNOWN_EXCEPTION', resultStatus: 'U' } } });
  });

  it('drawn by probability are the same for the same seed, whatever else was asked in between', () => {
    const scenario: Scenario = { refundId: 'R1', faults: [{ kind: 'unknown-exception', probability: 0.5 }] };
    const a = harness();
    const b = harness();
    a.world.createRefund(scenario);
    b.world.createRefund(scenario);
    b.world.createRefund({ refundId: 'R2' });
    const labelsA = Array.from({ length: 40 }, () => ask(a.world, 'R1').label);
    const labelsB = Array.from({ length: 40 }, (_, i) => {
      ask(b.world, 'R2');
      return ask(b.world, 'R1', 'v1', { clientId: `C${i}` }).label;
    });
    expect(labelsB).toEqual(labelsA);
    expect(new Set(labelsA)).toEqual(new Set(['SUCCESS', 'unknown-exception']));
  });

  it('latency delays the answer by a seeded amount within its range', () => {
    const { world } = harness();
    world.createRefund({ refundId: 'R1', latencyMs: 20 });
    world.createRefund({ refundId: 'R2', latencyMs: [5, 50] });
    expect(ask(world, 'R1').timing).toEqual({ kind: 'after', ms: 20 });
    const timing = ask(world, 'R2').timing;
    expect(timing.kind).toBe('after');
    expect(timing.kind === 'after' && timing.ms >= 5 && timing.ms <= 50).toBe(true);
  });
});

describe('the outage switch', () => {
  it('answers every inquiry, about any refund, with one fault until it is switched off', () => {
    const { world } = harness();
    world.createRefund({ refundId: 'R1', pendingInquiries: 1 });
    world.createRefund({ refundId: 'R2', faults: [{ kind: 'traffic-limit' }] });
    world.setOutage({ kind: 'http-error', httpStatus: 502, inquiries: [99], probability: 0 });
    for (const id of ['R1', 'R2', 'R1']) {
      expect(ask(world, id)).toMatchObject({ label: 'http-error', reply: { kind: 'http-error', status: 502 } });
    }
    world.setOutage(undefined);
    // The outage's inquiries counted: R1 is past its one pending inquiry.
    expect(ask(world, 'R1').label).toBe('SUCCESS');
    expect(ask(world, 'R2').label).toBe('traffic-limit');
    expect(world.counts()).toMatchObject({ refunds: 2, inquiries: 5 });
  });

  it('does not create refunds nobody asked about', () => {
    const { world } = harness();
    world.setOutage({ kind: 'unknown-exception' });
    expect(ask(world, 'NOPE').label).toBe('ORDER_NOT_EXIST');
  });
});

describe('unknown ids and the default scenario', () => {
  it('answers ORDER_NOT_EXIST and remembers who asked', () => {
    const { world } = harness();
    expect(bodyOf(ask(world, 'X', 'v2').reply)).toEqual({
      result: { resultCode: 'DPOS_PAYMENT_ORDER_NOT_EXIST', resultStatus: 'F', resultMessage: 'The order does not exist' },
    });
    ask(world, 'X', 'v1', { refundId: undefined, refundRequestId: 'X' });
    const seen = world.seen('X');
    expect(seen.refund).toBeUndefined();
    expect(seen.inquiries.map((i) => [i.n, i.api, i.resultCode])).toEqual([
      [1, 'v2', 'DPOS_PAYMENT_ORDER_NOT_EXIST'],
      [2, 'v1', 'ORDER_NOT_EXIST'],
    ]);
  });

  it('plays the default scenario for ids nobody created', () => {
    const { world } = harness({ defaultScenario: { pendingInquiries: 1 } });
    expect(ask(world, 'NEW').label).toBe('PROCESSING');
    expect(ask(world, 'NEW').label).toBe('SUCCESS');
    expect(world.seen('NEW').refund?.refundId).toBe('NEW');
  });

  it('refuses an invalid default scenario up front', () => {
    expect(() => harness({ defaultScenario: { final: 'MAYBE' } as unknown as Scenario })).toThrow(/final/);
  });
});

describe('bulk creation and notifications', () => {
  it('creates all or nothing', () => {
    const { world } = harness();
    world.createRefund({ refundId: 'R1' });
    expect(() => world.createRefunds([{ refundId: 'R2' }, { refundId: 'R1' }, { pendingInquiries: -1 }])).toThrow(/\[1\] id R1 already exists.*\[2\] pendingInquiries/);
    expect(world.counts().refunds).toBe(1);
    expect(world.createRefunds([{ refundId: 'R2' }, {}]).map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);
  });

  it('records notification attempts per refund and in total', () => {
    const { world } = harness();
    world.createRefund({ refundId: 'R1' });
    const attempt = (n: number, acknowledged: boolean): NotificationAttempt => ({
      refundId: 'R1', attempt: n, at: new Date(T0).toISOString(), url: 'http://x/', refundStatus: 'SUCCESS', acknowledged, body: '{}',
    });
    world.recordNotification(attempt(1, false));
    world.recordNotification(attempt(2, true));
    world.recordNotification({ ...attempt(1, true), refundId: 'GONE' });
    expect(world.notifications({ refundId: 'R1' }).map((a) => a.attempt)).toEqual([1, 2]);
    expect(world.notifications({ limit: 1 }).map((a) => a.refundId)).toEqual(['GONE']);
    expect(world.seen('R1').notifications).toHaveLength(2);
    expect(world.counts()).toMatchObject({ notificationAttempts: 3, acknowledged: 2 });
  });
});
