import type { Classification } from './classify.js';
import { formatMinorUnits } from './money.js';
import { noticeSubject, type Notice } from './notice.js';
import { outcomeEvent, type OutcomeEvent } from './outcome-event.js';
import { nonEmpty, type AntomConfirmed, type Money, type TimelineKind, type TrackedRefund, type TrackingStatus } from './refund.js';
import type { Random, ScheduleSettings } from './schedule.js';

/**
 * The refund state machine: from a refund and what we just learned about it (an inquiry's
 * classification, an Antom notification, or only the passing of time) to its next state and the
 * effects of the change. Pure; the poll loop, the notify receiver and the deadline sweep commit a
 * Decision in one transaction (app/commit-decision.ts), the store writing only what changed.
 *
 * One file per thing learned: decide-inquiry.ts, decide-notification.ts, decide-deadlines.ts.
 * This file holds what they share: the Decision, making a refund final, and what contradicts an
 * outcome already published.
 *
 * Invariants kept here:
 *  - a final refund (completed / failed) never changes again and is never inquired again;
 *  - only a verified SUCCESS / FAIL makes a refund final (classification guarantees this);
 *  - a refund that outlives POLL_GIVE_UP_AFTER stays `stalled`, it is never reported failed.
 */

export interface DecisionTimelineEntry {
  readonly kind: TimelineKind;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface Decision {
  /**
   * The refund's next state. `version` and `updatedAt` are left as they were: the store keeps
   * them, and writes the decision only onto the version it was made on.
   */
  readonly next: TrackedRefund;
  readonly timeline: DecisionTimelineEntry[];
  readonly events: OutcomeEvent[];
  readonly notices: Notice[];
  /** Antom asked us to slow down: the whole instance, not just this refund. */
  readonly slowDown?: { retryAfterMs?: number };
  /** Set when this decision makes the refund final. */
  readonly outcome?: 'completed' | 'failed';
}

export interface DecisionContext {
  readonly now: number;
  readonly schedule: ScheduleSettings;
  readonly random: Random;
}

export const HOUR_MS = 3_600_000;

export const iso = (ms: number) => new Date(ms).toISOString();

export function isFinal(status: TrackingStatus): boolean {
  return status === 'completed' || status === 'failed';
}

/** A decision that leaves the refund as it is and has no effects (yet). */
export function unchanged(refund: TrackedRefund): Decision {
  return { next: refund, timeline: [], events: [], notices: [] };
}

/**
 * An integration fault about a refund, for operations. Its own result code and message where it
 * has them, the refund's otherwise; `scope` makes it one alert however many refunds raise it.
 */
export function faultNotice(
  refund: TrackedRefund,
  now: number,
  fault: { reasonCode: string; resultCode?: string; resultMessage?: string; playbook?: string; scope: string },
): Notice {
  const subject = noticeSubject(refund, 'integration.fault', now);
  return {
    ...subject,
    reasonCode: fault.reasonCode,
    resultCode: fault.resultCode ?? subject.resultCode,
    resultMessage: fault.resultMessage ?? subject.resultMessage,
    playbook: fault.playbook,
    scope: fault.scope,
  };
}

/** A classification that makes a refund final (a notification's failure has no `unconfirmed`). */
export type FinalClassification =
  | Extract<Classification, { kind: 'completed' }>
  | { kind: 'failed'; reasonCode: string; resultCode: string; resultMessage: string; escalate: boolean; playbook?: string; refundStatus?: string };

/** Makes a refund final; shared by the poll and the notification paths. */
export function finalize(refund: TrackedRefund, c: FinalClassification, by: 'poll' | 'notify', now: number): Decision {
  const settled: TrackedRefund = { ...refund, detectedBy: by, finalizedAt: now, nextPollAt: undefined, consecutiveErrors: 0, unconfirmedFailure: undefined };
  const next: TrackedRefund =
    c.kind === 'completed'
      ? {
          ...settled,
          status: 'completed',
          lastRefundStatus: c.refundStatus,
          reasonCode: undefined,
          resultCode: c.resultCode,
          resultMessage: c.resultMessage,
          refundTime: nonEmpty(c.refundTime) ?? refund.refundTime,
          // Antom's refundId completes a v1 refund tracked by its request id; a known one stays.
          refundId: refund.refundId ?? nonEmpty(c.refundId),
          antomConfirmed: confirmedOf(c) ?? refund.antomConfirmed,
        }
      : {
          ...settled,
          status: 'failed',
          lastRefundStatus: c.refundStatus ?? 'FAIL',
          reasonCode: c.reasonCode,
          resultCode: c.resultCode,
          resultMessage: c.resultMessage,
          escalated: refund.escalated || c.escalate,
        };
  const event = outcomeEvent(next, now);
  const notices: Notice[] = [{ ...noticeSubject(next, event.type, now), playbook: c.kind === 'failed' ? nonEmpty(c.playbook) : undefined }];
  const timeline: DecisionTimelineEntry[] = [];
  const differs = amountDiffers(refund.refundAmount, next.antomConfirmed?.refundAmount);
  if (differs) {
    // The refund went through, for another amount than was initiated: the outcome stands (it is
    // what Antom did), and operations hear of the difference.
    timeline.push({ kind: 'alert', message: `Antom refunded ${differs.antom}, the refund was initiated for ${differs.initiated}` });
    notices.push(
      faultNotice(next, now, {
        reasonCode: 'REFUND_AMOUNT_DIFFERS',
        resultMessage: `Antom refunded ${differs.antom}; the refund-initiated record said ${differs.initiated}`,
        playbook: `Antom refunded ${differs.antom} where ${differs.initiated} was initiated: check the refund in the Antom Dashboard and the order it belongs to; the customer may have been refunded too much or too little.`,
        scope: `amount-differs:${refund.id}`,
      }),
    );
  }
  const status =
    next.status === 'completed'
      ? `completed (detected by ${by})`
      : `failed: ${next.reasonCode} (detected by ${by})${next.escalated ? ', escalated' : ''}`;
  timeline.push(
    { kind: 'status', message: status, detail: { resultCode: next.resultCode, resultMessage: next.resultMessage, refundTime: next.refundTime } },
    { kind: 'event', message: `${event.type} queued`, detail: { eventId: event.id } },
  );
  return { next, outcome: c.kind, timeline, events: [event], notices };
}

/** What Antom confirmed beyond the status, from a completed classification; undefined if nothing. */
function confirmedOf(c: Extract<Classification, { kind: 'completed' }>): AntomConfirmed | undefined {
  if (!c.refundAmount && !c.grossSettlementAmount && !c.settlementQuote && !c.arn) return undefined;
  const money = (m: Money | undefined) => m && { currency: m.currency, value: m.value };
  return {
    refundAmount: money(c.refundAmount),
    grossSettlementAmount: money(c.grossSettlementAmount),
    settlementQuote: c.settlementQuote,
    arn: nonEmpty(c.arn),
  };
}

/** The two amounts, formatted, when both are known and differ (currency or minor units). */
export function amountDiffers(initiated: Money | undefined, antom: Money | undefined): { initiated: string; antom: string } | undefined {
  if (!initiated || !antom) return undefined;
  const same =
    initiated.currency.trim().toUpperCase() === antom.currency.trim().toUpperCase() &&
    initiated.value.trim().replace(/^0+(?=\d)/, '') === antom.value.trim().replace(/^0+(?=\d)/, '');
  return same ? undefined : { initiated: formatMinorUnits(initiated, 'en'), antom: formatMinorUnits(antom, 'en') };
}

/**
 * What Antom says contradicts the outcome already recorded (a notification or an answer saying
 * SUCCESS for a refund reported failed, or the reverse): the recorded outcome stands (never two
 * outcomes), and operations are told once per refund, with both facts: one of them is wrong, and
 * if the refund was done again elsewhere the customer may have been refunded twice.
 */
export function contradiction(refund: TrackedRefund, says: string, now: number): Omit<Decision, 'next'> & { conflict: string } {
  const known = refund.status === 'completed' ? 'completed' : `failed (${refund.reasonCode ?? 'REFUND_FAILED'})`;
  const conflict = `${says}, but the refund was already reported ${known}`;
  return {
    timeline: [{ kind: 'alert', message: `${conflict}: kept ${refund.status}, escalated` }],
    events: [],
    notices: [
      faultNotice(refund, now, {
        reasonCode: 'OUTCOME_CONTRADICTED',
        resultMessage: conflict,
        playbook: `Antom now says something else than the outcome already published for this refund (${conflict}). Check the refund in the Antom Dashboard. Possible double refund: if it was failed and refunded again another way but Antom completed it, the customer was refunded twice; if it was completed but Antom failed it, the customer was not refunded.`,
        scope: `outcome-contradicted:${refund.id}`,
      }),
    ],
    conflict,
  };
}
