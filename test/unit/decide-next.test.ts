import { describe, expect, it } from 'vitest';
import { createCommitDecision } from '../../src/app/commit-decision.js';
import type { ApplyInput } from '../../src/app/ports.js';
import type { Classification } from '../../src/domain/classify.js';
import { decideDeadlines } from '../../src/domain/decide-deadlines.js';
import { decideAfterInquiry } from '../../src/domain/decide-inquiry.js';
import { decideAfterNotification } from '../../src/domain/decide-notification.js';
import { noticeSubject } from '../../src/domain/notice.js';
import { seededRandom } from '../../src/domain/random.js';
import { refundChanges, type TrackedRefund } from '../../src/domain/refund.js';
import type { ScheduleSettings } from '../../src/domain/schedule.js';

/**
 * Decisions return the refund's next state, and refundChanges is what the store writes of it:
 * only the fields that changed, NULL for a cleared one, nothing for the same state.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-25T00:00:00Z');
const schedule: ScheduleSettings = { firstDelayMs: 5000, maxIntervalMs: 30 * 60_000, stalledAfterMs: DAY, giveUpAfterMs: 30 * DAY, notFoundGraceMs: HOUR, jitter: 0.2 };
const ctxAt = (now: number) => ({ now, schedule, random: seededRandom(3) });

function pendingRefund(overrides: Partial<TrackedRefund> = {}): TrackedRefund {
  return {
    id: 'R-1',
    refundId: 'R-1',
    paymentId: 'P-1',
    refundAmount: { currency: 'USD', value: '1250' },
    initiatedAt: new Date(T0).toISOString(),
    origin: { topic: 't', partition: 0, offset: '0' },
    status: 'pending',
    escalated: false,
    inquiries: 2,
    consecutiveErrors: 1,
    nextPollAt: T0 + 60_000,
    recordedAt: T0,
    updatedAt: T0,
    version: 4,
    ...overrides,
  };
}

/** Frozen through and through: a decision that wrote into its input would throw. */
function frozen<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) frozen(v);
    Object.freeze(value);
  }
  return value;
}

describe('refundChanges', () => {
  it('is empty for the same state, and for an equal one built anew', () => {
    const r = pendingRefund({ unconfirmedFailure: { code: 'RISK_REJECT', respondedAt: T0 }, antomConfirmed: { arn: 'A', settlementQuote: { q: [1, { x: 2 }] } } });
    expect(refundChanges(r, r)).toEqual({});
    expect(refundChanges(r, { ...r, unconfirmedFailure: { code: 'RISK_REJECT', respondedAt: T0 }, antomConfirmed: { arn: 'A', settlementQuote: { q: [1, { x: 2 }] } } })).toEqual({});
    // A property holding undefined is no property: both are stored the same.
    expect(refundChanges(r, { ...r, antomConfirmed: { ...r.antomConfirmed, refundAmount: undefined } })).toEqual({});
  });

  it('holds only the changed fields, null for one cleared', () => {
    const r = pendingRefund({ reasonCode: 'ACCESS_DENIED', lastRefundStatus: 'PENDING' });
    const next: TrackedRefund = { ...r, inquiries: 3, reasonCode: undefined, lastRefundStatus: 'PROCESSING', nextPollAt: undefined, escalated: true };
    expect(refundChanges(r, next)).toEqual({ inquiries: 3, reasonCode: null, lastRefundStatus: 'PROCESSING', nextPollAt: null, escalated: true });
    expect(refundChanges(r, { ...r, antomConfirmed: { arn: 'B' } })).toEqual({ antomConfirmed: { arn: 'B' } });
    expect(refundChanges({ ...r, antomConfirmed: { arn: 'A' } }, { ...r, antomConfirmed: { arn: 'B' } })).toEqual({ antomConfirmed: { arn: 'B' } });
  });

  it('ignores what is not a decision\'s to change (version, updatedAt, the record)', () => {
    const r = pendingRefund();
    expect(refundChanges(r, { ...r, version: 9, updatedAt: T0 + 1, paymentId: 'P-2' })).toEqual({});
  });

  it('refuses to clear a field the store never clears', () => {
    const r = pendingRefund({ stalledAt: T0 + DAY });
    expect(() => refundChanges(r, { ...r, stalledAt: undefined })).toThrow(/cannot clear stalledAt/);
  });
});

describe('decisions return the next state', () => {
  it('a pending answer: one inquiry more, the status seen, the errors reset, the next inquiry set; the input untouched', () => {
    const r = frozen(pendingRefund({ reasonCode: 'ACCESS_DENIED' }));
    const now = T0 + 60_000;
    const d = decideAfterInquiry(r, { kind: 'pending', refundStatus: 'PROCESSING' }, ctxAt(now));
    expect(d.next).toMatchObject({ inquiries: 3, consecutiveErrors: 0, lastRefundStatus: 'PROCESSING', status: 'pending', version: 4 });
    expect(d.next.reasonCode).toBeUndefined();
    expect(d.next.nextPollAt).toBeGreaterThan(now);
    expect(refundChanges(r, d.next)).toEqual({ inquiries: 3, consecutiveErrors: 0, lastRefundStatus: 'PROCESSING', reasonCode: null, nextPollAt: d.next.nextPollAt });
  });

  it('a completed answer: final, off the schedule, with what Antom confirmed', () => {
    const r = frozen(pendingRefund());
    const c: Classification = { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok', refundTime: '2026-11-25T00:01:00Z', arn: 'ARN-1' };
    const d = decideAfterInquiry(r, c, ctxAt(T0 + 60_000));
    expect(d.outcome).toBe('completed');
    expect(refundChanges(r, d.next)).toEqual({
      status: 'completed',
      detectedBy: 'poll',
      inquiries: 3,
      consecutiveErrors: 0,
      finalizedAt: T0 + 60_000,
      antomConfirmed: { arn: 'ARN-1' },
      lastRefundStatus: 'SUCCESS',
      resultCode: 'SUCCESS',
      resultMessage: 'ok',
      refundTime: '2026-11-25T00:01:00Z',
      nextPollAt: null,
    });
    // The event is made from the next state.
    expect(d.events[0]!.data).toMatchObject({ status: 'SUCCESS', inquiries: 3, arn: 'ARN-1', refundTime: '2026-11-25T00:01:00Z' });
  });

  it('a repeated notification: the very same refund, nothing to write', () => {
    const r = frozen(pendingRefund({ status: 'completed', nextPollAt: undefined, finalizedAt: T0 }));
    const d = decideAfterNotification(r, { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'ok' }, ctxAt(T0 + HOUR));
    expect(d.repeat).toBe(true);
    expect(d.next).toBe(r);
    expect(refundChanges(r, d.next)).toEqual({});
  });

  it('a missed stall point: stalled, escalated, polled at the ceiling', () => {
    const r = frozen(pendingRefund({ nextPollAt: T0 + 3 * DAY }));
    const d = decideDeadlines(r, ctxAt(T0 + DAY + 1))!;
    expect(refundChanges(r, d.next)).toEqual({ status: 'stalled', stalledAt: T0 + DAY + 1, escalated: true, nextPollAt: d.next.nextPollAt });
    expect(d.next.nextPollAt! - (T0 + DAY + 1)).toBeLessThanOrEqual(schedule.maxIntervalMs);
    expect(d.notices).toEqual([{ ...noticeSubject(d.next, 'refund.stalled', T0 + DAY + 1), stage: 1 }]);
  });
});

describe('commit-decision', () => {
  it('writes the difference between the refund and its next state, on the version it was decided on', async () => {
    const inputs: ApplyInput[] = [];
    let woken = 0;
    const commit = createCommitDecision({
      apply: async (input) => {
        inputs.push(input);
        return true;
      },
      topics: { completed: 'c', failed: 'f', stalled: 's' },
      onOutbox: () => (woken += 1),
    });
    const r = pendingRefund();
    const d = decideAfterInquiry(r, { kind: 'failed', reasonCode: 'RISK_REJECT', resultCode: 'RISK_REJECT', resultMessage: 'no', escalate: true }, ctxAt(T0 + 60_000));
    expect(await commit(r, d, T0 + 60_000)).toBe(true);
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({ key: 'R-1', version: 4, patch: refundChanges(r, d.next), timeline: d.timeline, now: T0 + 60_000 });
    expect(inputs[0]!.patch).toMatchObject({ status: 'failed', reasonCode: 'RISK_REJECT', escalated: true, nextPollAt: null });
    expect(inputs[0]!.outbox.map((e) => e.dedupeKey)).toEqual(['event:R-1:refund.failed', 'notice:refund.failed:R-1']);
    expect(woken).toBe(1);
  });
});

describe('noticeSubject', () => {
  it('an empty string counts as absent; the rest of the refund as it stands', () => {
    const r = pendingRefund({ refundRequestId: 'RQ-1', lastRefundStatus: '', resultMessage: '', merchantAccountId: 'M-1', escalated: true });
    const subject = JSON.parse(JSON.stringify(noticeSubject(r, 'refund.stalled', T0)));
    expect(subject).toEqual({
      event: 'refund.stalled',
      refundKey: 'R-1',
      refundId: 'R-1',
      refundRequestId: 'RQ-1',
      paymentId: 'P-1',
      refundAmount: { currency: 'USD', value: '1250' },
      merchantAccountId: 'M-1',
      escalate: true,
      detectedAt: T0,
      inquiries: 2,
    });
  });
});
