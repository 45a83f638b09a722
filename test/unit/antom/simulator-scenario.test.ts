import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../../src/simulator/random.js';
import { codeFor, parseScenario, pickFault, refundStatusFor, type FaultRule } from '../../../src/simulator/scenario.js';

describe('seeded randomness', () => {
  it('is fixed by the seed and the parts, whatever the order of draws', () => {
    const a = createSeededRandom(42);
    const b = createSeededRandom(42);
    const forward = [1, 2, 3].map((n) => a.unit('fault', 'r1', n));
    const backward = [3, 2, 1].map((n) => b.unit('fault', 'r1', n)).reverse();
    expect(forward).toEqual(backward);
    expect(createSeededRandom(43).unit('fault', 'r1', 1)).not.toBe(forward[0]);
  });

  it('spreads draws over [0, 1) and integers over [min, max]', () => {
    const random = createSeededRandom(7);
    const draws = Array.from({ length: 10_000 }, (_, n) => random.unit('x', n));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    // A fair source puts about half below 0.5; 10,000 draws keep this far from flaky (±5σ ≈ ±250).
    const below = draws.filter((d) => d < 0.5).length;
    expect(below).toBeGreaterThan(4_750);
    expect(below).toBeLessThan(5_250);
    const ints = new Set(Array.from({ length: 1000 }, (_, n) => random.between(3, 5, 'y', n)));
    expect([...ints].sort()).toEqual([3, 4, 5]);
    expect(random.hex(20, 'id', 1)).toMatch(/^[0-9a-f]{20}$/);
  });
});

describe('pickFault', () => {
  const faults: FaultRule[] = [
    { kind: 'http-error', inquiries: [1, 3] },
    { kind: 'traffic-limit', probability: 0.5 },
    { kind: 'unknown-exception' },
  ];
  it('takes the first rule that matches the inquiry number and the draw', () => {
    expect(pickFault(faults, 1, () => 0)?.kind).toBe('http-error');
    expect(pickFault(faults, 2, () => 0.49)?.kind).toBe('traffic-limit');
    expect(pickFault(faults, 2, () => 0.5)?.kind).toBe('unknown-exception');
    expect(pickFault([{ kind: 'hang', inquiries: [2] }], 1, () => 0)).toBeUndefined();
    expect(pickFault(undefined, 1, () => 0)).toBeUndefined();
  });
});

describe('flavours do not mix', () => {
  it('v1 and v2 spell statuses and codes their own way', () => {
    expect(['PROCESSING', 'SUCCESS', 'FAIL'].map((s) => refundStatusFor('v1', s as 'FAIL'))).toEqual(['PROCESSING', 'SUCCESS', 'FAIL']);
    expect(['PROCESSING', 'SUCCESS', 'FAIL'].map((s) => refundStatusFor('v2', s as 'FAIL'))).toEqual(['PENDING', 'SUCCESS', 'FAILED']);
    expect(codeFor('v1', 'RISK_REJECT')).toBe('RISK_REJECT');
    expect(codeFor('v2', 'RISK_REJECT')).toBe('DPOS_PAYMENT_RISK_REJECT');
    expect(codeFor('v2', 'MERCHANT_BALANCE_NOT_ENOUGH')).toBe('DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH');
    expect(codeFor('v2', 'SOMETHING_ELSE')).toBe('DPOS_SOMETHING_ELSE');
    expect(codeFor('v2', 'SUCCESS')).toBe('SUCCESS');
  });
});

describe('parseScenario', () => {
  it('accepts the full shape and reports every problem', () => {
    expect(
      parseScenario({
        final: 'FAIL',
        failCode: 'RISK_REJECT',
        pendingInquiries: 2,
        latencyMs: [1, 5],
        refundAmount: { currency: 'USD', value: 100 },
        faults: [{ kind: 'result-code', resultCode: 'ACCESS_DENIED', inquiries: [1] }],
      }),
    ).toMatchObject({ ok: true, scenario: { refundAmount: { currency: 'USD', value: '100' } } });
    const bad = parseScenario({ final: 'DONE', faults: [{ kind: 'result-code' }], latencyMs: [5, 1], extra: 1 });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^final: /),
        'faults.0.resultCode: a result-code fault needs resultCode',
        'latencyMs: latencyMs [min, max] needs min <= max',
        expect.stringMatching(/extra/),
      ]),
    );
  });
});
