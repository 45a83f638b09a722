import { describe, expect, it } from 'vitest';
import { createAntomHealthWindow } from '../../../src/app/antom-health.js';
import { createFakeClock } from '../../support/fakes.js';

const MINUTE = 60_000;

describe("Antom's health over the last hour", () => {
  it('counts answers by classification, the error rate and the traffic limits', () => {
    const clock = createFakeClock();
    const window = createAntomHealthWindow({ clock });
    expect(window.snapshot()).toMatchObject({ answers: 0, errorRate: 0, trafficLimited: 0 });
    expect(window.snapshot().latencyP50Ms).toBeUndefined();
    for (let i = 0; i < 6; i++) window.record({ kind: 'pending', trafficLimited: false, latencyMs: 40 });
    window.record({ kind: 'completed', trafficLimited: false, latencyMs: 60 });
    window.record({ kind: 'retry', trafficLimited: true, latencyMs: 20 });
    window.record({ kind: 'integration-fault', trafficLimited: false, latencyMs: 30 });
    window.record({ kind: 'not-found', trafficLimited: false, latencyMs: 3_000 });
    const s = window.snapshot();
    expect(s.answers).toBe(10);
    expect(s.byKind).toEqual({ completed: 1, failed: 0, pending: 6, 'not-found': 1, retry: 1, 'integration-fault': 1 });
    expect(s.trafficLimited).toBe(1);
    expect(s.errorRate).toBeCloseTo(0.2);
    // Bounds of the histogram bucket each percentile falls in; the slowest as measured.
    expect(s.latencyP50Ms).toBe(50);
    expect(s.latencyP95Ms).toBe(3_000);
    expect(s.latencyMaxMs).toBe(3_000);
  });

  it('forgets answers older than an hour, minute by minute', () => {
    const clock = createFakeClock();
    const window = createAntomHealthWindow({ clock });
    window.record({ kind: 'retry', trafficLimited: false, latencyMs: 9_000 });
    clock.advance(30 * MINUTE);
    window.record({ kind: 'pending', trafficLimited: false, latencyMs: 5 });
    expect(window.snapshot()).toMatchObject({ answers: 2, windowMs: 30 * MINUTE, latencyMaxMs: 9_000 });
    clock.advance(31 * MINUTE);
    expect(window.snapshot()).toMatchObject({ answers: 1, errorRate: 0, windowMs: 60 * MINUTE, latencyP95Ms: 5, latencyMaxMs: 5 });
    clock.advance(60 * MINUTE);
    expect(window.snapshot()).toMatchObject({ answers: 0 });
  });
});
