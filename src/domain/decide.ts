import type { Classification } from './classify.js';
import {
  EVENT_SOURCE,
  outcomeEventId,
  type OutcomeEvent,
  type OutcomeType,
  type RefundCompletedEvent,
  type RefundFailedEvent,
  type RefundStalledEvent,
} from './outcome-event.js';
import { formatMinorUnits } from './money.js';
import type { AntomConfirmed, Money, TimelineKind, TrackedRefund, TrackingStatus } from './refund.js';
import type { NotificationSubject } from './routing.js';
import {
  giveUpAt,
  nextPollTime,
  pendingInterval,
  retryInterval,
  slowInterval,
  stalledAt as stallPoint,
  type Random,
  type ScheduleSettings,
} from './schedule.js';

/**
 * The refund state machine: from a refund and what we just learned about it (an inquiry's
 * classification, an Antom notification, or only the passing of time) to the new state and its
 * effects. Pure; the poll loop and the notify receiver apply a Decision in one transaction.
 *
 * Invariants kept here:
 *  - a final refund (completed / failed) never changes again and is never inquired again;
 *  - only a verified SUCCESS / FAIL makes a refund final (classification guarantees this);
 *  - a refund that outlives POLL_GIVE_UP_AFTER stays `stalled`, it is never reported failed.
 */

/** What happened, for the people to be told (routed to receivers by the notification layer). */
export interface Notice extends NotificationSubject {
  /** What a human should do, when the classification knows (the result-code table's playbook). */
  readonly playbook?: string;
  /**
   * Notices with the same scope are the same alert: an integration fault is raised once per code
   * per hour across all refunds, not once per refund.
   */
  readonly scope?: string;
}

export interface RefundPatch {
  status?: TrackingStatus;
  refundId?: string;
  lastRefundStatus?: string | null;
  reasonCode?: string | null;
  resultCode?: string | null;
  resultMessage?: string | null;
  refundTime?: string | null;
  detectedBy?: 'poll' | 'notify';
  escalated?: boolean;
  inquiries?: number;
  consecutiveErrors?: number;
  nextPollAt?: number | null;
  stalledAt?: number;
  givenUpAt?: number;
  finalizedAt?: number;
  unconfirmedFailure?: { code: string; respondedAt: number } | null;
  antomConfirmed?: AntomConfirmed;
}

export interface DecisionTimelineEntry {
  readonly kind: TimelineKind;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface Decision {
  readonly patch: RefundPatch;
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

/**
 * A failure read from an F result is asked about again this long after it was first seen, and is
 * confirmed only by an answer signed at least CONFIRM_MIN_GAP_MS after the first: a captured
 * answer replayed twice carries the same response-time. The default delay costs one extra inquiry
 * per failed refund and a few seconds before the failure is reported.
 */
export const DEFAULT_CONFIRM_FAILURE_AFTER_MS = 5_000;
export const CONFIRM_MIN_GAP_MS = 1;

const HOUR_MS = 3_600_000;

export function isFinal(status: TrackingStatus): boolean {
  return status === 'completed' || status === 'failed';
}

/** The id outcome events carry for a refund: Antom's refundId, else the merchant's request id. */
export function eventRefundId(refund: { refundId?: string; refundRequestId?: string; id: string }): string {
  return refund.refundId ?? refund.refundRequestId ?? refund.id;
}

const iso = (ms: number) => new Date(ms).toISOString();

function baseEventData(r: TrackedRefund) {
  return {
    refundId: eventRefundId(r),
    ...(r.refundRequestId ? { refundRequestId: r.refundRequestId } : {}),
    paymentId: r.paymentId,
    ...(r.refundAmount ? { refundAmount: { currency: r.refundAmount.currency, value: r.refundAmount.value } } : {}),
    ...(r.resultCode ? { resultCode: r.resultCode } : {}),
    ...(r.resultMessage ? { resultMessage: r.resultMessage } : {}),
    escalated: r.escalated,
    inquiries: r.inquiries,
    initiatedAt: r.initiatedAt,
    ...(r.metadata ? { metadata: { ...r.metadata } } : {}),
  };
}

function envelope<T extends OutcomeType>(r: TrackedRefund, type: T, now: number, stage?: number) {
  const refundId = eventRefundId(r);
  return {
    specversion: '1.0' as const,
    id: outcomeEventId(refundId, type, stage),
    source: EVENT_SOURCE as typeof EVENT_SOURCE,
    type,
    subject: refundId,
    time: iso(now),
    datacontenttype: 'application/json' as const,
  };
}

/** The outcome event of a refund as it stands after the patch. */
export function outcomeEvent(after: TrackedRefund, now: number): RefundCompletedEvent | RefundFailedEvent {
  if (after.status === 'completed') {
    return {
      ...envelope(after, 'refund.completed', now),
      data: {
        ...baseEventData(after),
        status: 'SUCCESS',
        ...(after.refundTime ? { refundTime: after.refundTime } : {}),
        ...confirmedEventFields(after.antomConfirmed),
        detectedBy: after.detectedBy ?? 'poll',
        finalizedAt: iso(after.finalizedAt ?? now),
      },
    };
  }
  return {
    ...envelope(after, 'refund.failed', now),
    data: {
      ...baseEventData(after),
      status: 'FAIL',
      reasonCode: after.reasonCode ?? 'REFUND_FAILED',
      detectedBy: after.detectedBy ?? 'poll',
      finalizedAt: iso(after.finalizedAt ?? now),
    },
  };
}

/** What Antom confirmed, as the completed event's optional fields. */
function confirmedEventFields(c: AntomConfirmed | undefined) {
  if (!c) return {};
  return {
    ...(c.refundAmount && /^\d+$/.test(c.refundAmount.value) && /^[A-Z]{3}$/.test(c.refundAmount.currency) ? { confirmedRefundAmount: { currency: c.refundAmount.currency, value: c.refundAmount.value } } : {}),
    ...(c.grossSettlementAmount && /^\d+$/.test(c.grossSettlementAmount.value) && /^[A-Z]{3}$/.test(c.grossSettlementAmount.currency)
      ? { grossSettlementAmount: { currency: c.grossSettlementAmount.currency, value: c.grossSettlementAmount.value } }
      : {}),
    ...(c.settlementQuote ? { settlementQuote: { ...c.settlementQuote } } : {}),
    ...(c.arn ? { arn: c.arn } : {}),
  };
}

export function stalledEvent(after: TrackedRefund, now: number, stage: 1 | 2): RefundStalledEvent {
  return {
    ...envelope(after, 'refund.stalled', now, stage),
    data: {
      ...baseEventData(after),
      status: after.lastRefundStatus ?? 'UNKNOWN',
      ...(after.reasonCode ? { reasonCode: after.reasonCode } : {}),
      stage,
      stalledSince: iso(after.stalledAt ?? now),
      detectedBy: 'poll',
    },
  };
}

function notice(after: TrackedRefund, event: Notice['event'], now: number, extra: Partial<Notice> = {}): Notice {
  return {
    event,
    refundKey: after.id,
    ...(after.refundId ? { refundId: after.refundId } : {}),
    ...(after.refundRequestId ? { refundRequestId: after.refundRequestId } : {}),
    paymentId: after.paymentId,
    ...(after.lastRefundStatus ? { status: after.lastRefundStatus } : {}),
    ...(after.reasonCode ? { reasonCode: after.reasonCode } : {}),
    ...(after.resultCode ? { resultCode: after.resultCode } : {}),
    ...(after.resultMessage ? { resultMessage: after.resultMessage } : {}),
    ...(after.refundAmount ? { refundAmount: after.refundAmount } : {}),
    ...(after.merchantAccountId ? { merchantAccountId: after.merchantAccountId } : {}),
    ...(after.paymentMethodType ? { paymentMethodType: after.paymentMethodType } : {}),
    ...(after.customer ? { customer: after.customer } : {}),
    ...(after.metadata ? { metadata: after.metadata } : {}),
    ...(after.refundTime ? { refundTime: after.refundTime } : {}),
    escalate: after.escalated,
    detectedAt: now,
    inquiries: after.inquiries,
    ...extra,
  };
}

function apply(refund: TrackedRefund, patch: RefundPatch): TrackedRefund {
  const next: Record<string, unknown> = { ...refund };
  for (const [k, v] of Object.entries(patch)) next[k] = v === null ? undefined : v;
  return next as unknown as TrackedRefund;
}

/** Makes a refund final; shared by the poll and the notification paths. */
function finalize(
  refund: TrackedRefund,
  c: Extract<Classification, { kind: 'completed' | 'failed' }> | { kind: 'failed'; reasonCode: string; resultCode: string; resultMessage: string; escalate: boolean; playbook?: string; refundStatus?: string },
  patch: RefundPatch,
  by: 'poll' | 'notify',
  now: number,
): Decision {
  const common: RefundPatch = { ...patch, detectedBy: by, finalizedAt: now, nextPollAt: null, consecutiveErrors: 0, unconfirmedFailure: null };
  if (c.kind === 'completed') {
    const confirmed = confirmedOf(c);
    Object.assign(common, {
      status: 'completed' as const,
      lastRefundStatus: c.refundStatus,
      reasonCode: null,
      resultCode: c.resultCode,
      resultMessage: c.resultMessage,
      ...(c.refundTime ? { refundTime: c.refundTime } : {}),
      ...(c.refundId && !refund.refundId ? { refundId: c.refundId } : {}),
      ...(confirmed ? { antomConfirmed: confirmed } : {}),
    });
  } else {
    Object.assign(common, {
      status: 'failed' as const,
      lastRefundStatus: c.refundStatus ?? 'FAIL',
      reasonCode: c.reasonCode,
      resultCode: c.resultCode,
      resultMessage: c.resultMessage,
      escalated: refund.escalated || c.escalate,
    });
  }
  const after = apply(refund, common);
  const event = outcomeEvent(after, now);
  const playbook = c.kind === 'failed' ? c.playbook : undefined;
  const notices = [notice(after, event.type, now, playbook ? { playbook } : {})];
  const timeline: DecisionTimelineEntry[] = [];
  const differs = amountDiffers(refund.refundAmount, after.antomConfirmed?.refundAmount);
  if (differs) {
    // The refund went through, for another amount than was initiated: the outcome stands (it is
    // what Antom did), and operations hear of the difference.
    timeline.push({ kind: 'alert', message: `Antom refunded ${differs.antom}, the refund was initiated for ${differs.initiated}` });
    notices.push(
      notice(after, 'integration.fault', now, {
        reasonCode: 'REFUND_AMOUNT_DIFFERS',
        resultMessage: `Antom refunded ${differs.antom}; the refund-initiated record said ${differs.initiated}`,
        playbook: `Antom refunded ${differs.antom} where ${differs.initiated} was initiated: check the refund in the Antom Dashboard and the order it belongs to; the customer may have been refunded too much or too little.`,
        scope: `amount-differs:${refund.id}`,
      }),
    );
  }
  return {
    patch: common,
    outcome: after.status === 'completed' ? 'completed' : 'failed',
    timeline: [
      ...timeline,
      {
        kind: 'status',
        message:
          after.status === 'completed'
            ? `completed (detected by ${by})`
            : `failed: ${after.reasonCode} (detected by ${by})${after.escalated ? ', escalated' : ''}`,
        detail: { resultCode: after.resultCode, resultMessage: after.resultMessage, refundTime: after.refundTime },
      },
      { kind: 'event', message: `${event.type} queued`, detail: { eventId: event.id } },
    ],
    events: [event],
    notices,
  };
}

/** What Antom confirmed beyond the status, from a completed classification; undefined if nothing. */
function confirmedOf(c: Extract<Classification, { kind: 'completed' }>): AntomConfirmed | undefined {
  const confirmed: AntomConfirmed = {
    ...(c.refundAmount ? { refundAmount: { currency: c.refundAmount.currency, value: c.refundAmount.value } } : {}),
    ...(c.grossSettlementAmount ? { grossSettlementAmount: { currency: c.grossSettlementAmount.currency, value: c.grossSettlementAmount.value } } : {}),
    ...(c.settlementQuote ? { settlementQuote: c.settlementQuote } : {}),
    ...(c.arn ? { arn: c.arn } : {}),
  };
  return Object.keys(confirmed).length > 0 ? confirmed : undefined;
}

/** The two amounts, formatted, when both are known and differ (currency or minor units). */
export function amountDiffers(initiated: Money | undefined, antom: Money | undefined): { initiated: string; antom: string } | undefined {
  if (!initiated || !antom) return undefined;
  const same =
    initiated.currency.trim().toUpperCase() === antom.currency.trim().toUpperCase() &&
    initiated.value.trim().replace(/^0+(?=\d)/, '') === antom.value.trim().replace(/^0+(?=\d)/, '');
  return same ? undefined : { initiated: formatMinorUnits(initiated, 'en'), antom: formatMinorUnits(antom, 'en') };
}

/** Stall and give-up points, checked after every inquiry of a refund that is not final. */
function deadlines(refund: TrackedRefund, patch: RefundPatch, ctx: DecisionContext, out: Omit<Decision, 'patch'> & { patch: RefundPatch }): void {
  const s = ctx.schedule;
  let current = apply(refund, patch);
  if (current.stalledAt === undefined && ctx.now >= stallPoint(refund.recordedAt, s)) {
    Object.assign(patch, { status: 'stalled' as const, stalledAt: ctx.now, escalated: true });
    current = apply(refund, patch);
    const event = stalledEvent(current, ctx.now, 1);
    out.events.push(event);
    out.notices.push(notice(current, 'refund.stalled', ctx.now, { stage: 1 }));
    out.timeline.push({ kind: 'stalled', message: `not final after ${Math.round(s.stalledAfterMs / HOUR_MS)}h: stalled, escalated; polling goes on` });
  }
  if (current.givenUpAt === undefined && ctx.now >= giveUpAt(refund.recordedAt, s)) {
    Object.assign(patch, { status: 'stalled' as const, givenUpAt: ctx.now, nextPollAt: null, stalledAt: current.stalledAt ?? ctx.now });
    current = apply(refund, patch);
    out.events.push(stalledEvent(current, ctx.now, 2));
    out.notices.push(notice(current, 'refund.stalled', ctx.now, { stage: 2 }));
    out.timeline.push({ kind: 'given-up', message: 'polling stopped (POLL_GIVE_UP_AFTER); the refund stays stalled, never reported failed' });
  }
}

/** After one inquiry: what the classification means for this refund. */
export function decideAfterInquiry(refund: TrackedRefund, c: Classification, ctx: DecisionContext): Decision {
  const now = ctx.now;
  const s = ctx.schedule;
  if (isFinal(refund.status)) {
    // Claimed by mistake or raced with a notification: a final refund is never changed. An answer
    // that contradicts its outcome is reported, once per refund.
    const says = c.kind === 'completed' || (c.kind === 'failed' && !c.unconfirmed) ? c.kind : undefined;
    if (says !== undefined && says !== refund.status) {
      return { patch: { nextPollAt: null }, ...contradiction(refund, `an inquiry answered ${says === 'completed' ? 'SUCCESS' : `FAIL (${c.kind === 'failed' ? c.reasonCode : ''})`}`, now) };
    }
    return { patch: { nextPollAt: null }, timeline: [], events: [], notices: [] };
  }
  const inquiries = refund.inquiries + 1;
  const base: RefundPatch = { inquiries };
  if (c.kind === 'completed') return finalize(refund, c, base, 'poll', now);
  if (c.kind === 'failed') {
    if (!c.unconfirmed) return finalize(refund, c, base, 'poll', now);
    const first = refund.unconfirmedFailure;
    if (first && first.code === c.reasonCode && c.unconfirmed.respondedAt - first.respondedAt >= CONFIRM_MIN_GAP_MS) {
      const decision = finalize(refund, c, base, 'poll', now);
      return {
        ...decision,
        timeline: [{ kind: 'inquiry', message: `Antom answered F ${c.resultCode} again (signed ${iso(c.unconfirmed.respondedAt)}): failure confirmed` }, ...decision.timeline],
      };
    }
    // An F result names no refund: ask again before anyone is told the refund failed.
    const delay = s.confirmFailureAfterMs ?? DEFAULT_CONFIRM_FAILURE_AFTER_MS;
    const next = apply(refund, { ...base, unconfirmedFailure: { code: c.reasonCode, respondedAt: c.unconfirmed.respondedAt } });
    return {
      patch: {
        ...base,
        unconfirmedFailure: { code: c.reasonCode, respondedAt: c.unconfirmed.respondedAt },
        consecutiveErrors: 0,
        nextPollAt: nextPollTime(now, delay, next, s),
      },
      timeline: [
        {
          kind: 'inquiry',
          message: `Antom answered F ${c.resultCode} (${c.resultMessage}); a failure result names no refund, so it is asked again to confirm`,
          detail: { inquiry: inquiries, respondedAt: iso(c.unconfirmed.respondedAt) },
        },
      ],
      events: [],
      notices: [],
    };
  }

  if (c.kind === 'not-found' && now - refund.recordedAt >= s.notFoundGraceMs) {
    return notFoundPastGrace(refund, c, base, ctx);
  }

  const out: Omit<Decision, 'patch'> & { patch: RefundPatch } = { patch: base, timeline: [], events: [], notices: [] };
  const patch = out.patch;
  let interval: number;
  switch (c.kind) {
    case 'pending':
      Object.assign(patch, { lastRefundStatus: c.refundStatus, consecutiveErrors: 0, reasonCode: null });
      // A signed answer naming the refund says it is still going: an earlier F result (which
      // names no refund) was not about it.
      if (refund.unconfirmedFailure) patch.unconfirmedFailure = null;
      interval = pendingInterval(inquiries, s, ctx.random);
      out.timeline.push({ kind: 'inquiry', message: `still ${c.refundStatus}`, detail: { inquiry: inquiries } });
      break;
    case 'not-found': {
      const errors = refund.consecutiveErrors + 1;
      Object.assign(patch, { consecutiveErrors: errors, reasonCode: c.reasonCode });
      interval = retryInterval(errors, s, ctx.random);
      out.timeline.push({
        kind: 'inquiry',
        message: `not found at Antom (${c.resultCode}); retried until ${iso(refund.recordedAt + s.notFoundGraceMs)}`,
        detail: { inquiry: inquiries },
      });
      break;
    }
    case 'retry': {
      const errors = refund.consecutiveErrors + 1;
      Object.assign(patch, { consecutiveErrors: errors });
      interval = retryInterval(errors, s, ctx.random, c.retryAfterMs);
      out.timeline.push({ kind: 'inquiry', message: `no answer about the refund: ${c.reason}`, detail: { inquiry: inquiries, errors } });
      if (c.slowDown) (out as { slowDown?: Decision['slowDown'] }).slowDown = { ...(c.retryAfterMs === undefined ? {} : { retryAfterMs: c.retryAfterMs }) };
      if (c.alert && c.unknownCode) {
        const after = apply(refund, patch);
        out.notices.push(
          notice(after, 'integration.fault', now, {
            reasonCode: c.unknownCode,
            ...(c.resultCode ? { resultCode: c.resultCode } : {}),
            ...(c.resultMessage ? { resultMessage: c.resultMessage } : {}),
            playbook: `Antom sent ${c.unknownCode}, which config/result-codes.yaml does not know: refunds with it are retried; add the code to the table with what it means.`,
            scope: `unknown-code:${c.unknownCode}:${Math.floor(now / HOUR_MS)}`,
          }),
        );
      }
      break;
    }
    case 'integration-fault': {
      const errors = refund.consecutiveErrors + 1;
      const firstOfKind = refund.reasonCode !== c.reasonCode;
      Object.assign(patch, { consecutiveErrors: errors, reasonCode: c.reasonCode });
      interval = slowInterval(s, ctx.random);
      out.timeline.push({ kind: 'alert', message: `integration fault ${c.reasonCode}: ${c.message}; polling slowed`, detail: { inquiry: inquiries } });
      if (firstOfKind) {
        const after = apply(refund, patch);
        out.notices.push(
          notice(after, 'integration.fault', now, {
            reasonCode: c.reasonCode,
            ...(c.resultCode ? { resultCode: c.resultCode } : {}),
            ...(c.resultMessage ? { resultMessage: c.resultMessage } : {}),
            ...(c.playbook ? { playbook: c.playbook } : {}),
            scope: `integration-fault:${c.reasonCode}:${Math.floor(now / HOUR_MS)}`,
          }),
        );
      }
      break;
    }
  }

  deadlines(refund, patch, ctx, out);
  if (patch.givenUpAt === undefined) {
    const after = apply(refund, patch);
    // Once stalled, polling goes on at the ceiling.
    const effective = after.stalledAt !== undefined ? Math.max(interval, slowInterval(s, ctx.random)) : interval;
    patch.nextPollAt = nextPollTime(now, effective, after, s);
  }
  return out;
}

/**
 * Antom still does not know the refund after POLL_NOT_FOUND_GRACE. That is never an outcome: a
 * wrong ANTOM_CLIENT_ID or environment looks exactly like this for every refund, and a later
 * SUCCESS notification must still be able to complete it. The refund is stalled (operations are
 * told, as for any stall) and an integration fault is raised once an hour; polling goes on at
 * the ceiling.
 */
function notFoundPastGrace(
  refund: TrackedRefund,
  c: Extract<Classification, { kind: 'not-found' }>,
  base: RefundPatch,
  ctx: DecisionContext,
): Decision {
  const { now, schedule: s } = ctx;
  const patch: RefundPatch = { ...base, consecutiveErrors: refund.consecutiveErrors + 1, reasonCode: c.reasonCode, unconfirmedFailure: null };
  const out: Omit<Decision, 'patch'> & { patch: RefundPatch } = { patch, timeline: [], events: [], notices: [] };
  let current = apply(refund, patch);
  if (current.stalledAt === undefined) {
    Object.assign(patch, { status: 'stalled' as const, stalledAt: now, escalated: true });
    current = apply(refund, patch);
    out.events.push(stalledEvent(current, now, 1));
    out.notices.push(notice(current, 'refund.stalled', now, { stage: 1 }));
  }
  out.timeline.push({
    kind: 'alert',
    message: `still not found at Antom (${c.resultCode}) ${Math.round((now - refund.recordedAt) / 60_000)} min after it was tracked: stalled and escalated, never failed; polling goes on`,
  });
  out.notices.push(
    notice(current, 'integration.fault', now, {
      reasonCode: c.reasonCode,
      resultCode: c.resultCode,
      resultMessage: c.resultMessage,
      playbook:
        c.playbook ??
        'Antom does not know refunds we track: check ANTOM_CLIENT_ID, ANTOM_BASE_URL and ANTOM_API (sandbox against production?), and that the refund ids in the refund-initiated records are Antom\'s.',
      scope: `integration-fault:${c.reasonCode}:${Math.floor(now / HOUR_MS)}`,
    }),
  );
  deadlines(refund, patch, ctx, out);
  if (patch.givenUpAt === undefined) patch.nextPollAt = nextPollTime(now, slowInterval(s, ctx.random), apply(refund, patch), s);
  return out;
}

/**
 * What Antom says contradicts the outcome already recorded (a notification or an answer saying
 * SUCCESS for a refund reported failed, or the reverse): the recorded outcome stands (never two
 * outcomes), and operations are told once per refund, with both facts: one of them is wrong, and
 * if the refund was done again elsewhere the customer may have been refunded twice.
 */
function contradiction(refund: TrackedRefund, says: string, now: number): Omit<Decision, 'patch'> & { conflict: string } {
  const known = refund.status === 'completed' ? 'completed' : `failed (${refund.reasonCode ?? 'REFUND_FAILED'})`;
  const conflict = `${says}, but the refund was already reported ${known}`;
  return {
    timeline: [{ kind: 'alert', message: `${conflict}: kept ${refund.status}, escalated` }],
    events: [],
    notices: [
      notice(refund, 'integration.fault', now, {
        reasonCode: 'OUTCOME_CONTRADICTED',
        resultMessage: conflict,
        playbook: `Antom now says something else than the outcome already published for this refund (${conflict}). Check the refund in the Antom Dashboard. Possible double refund: if it was failed and refunded again another way but Antom completed it, the customer was refunded twice; if it was completed but Antom failed it, the customer was not refunded.`,
        scope: `outcome-contradicted:${refund.id}`,
      }),
    ],
    conflict,
  };
}

/**
 * After an Antom notifyRefund (already verified and classified as completed or failed): finalize,
 * unless
 *  - the refund is final already: a repeat changes nothing and writes nothing (Antom resends until
 *    acknowledged); a notification that contradicts the known outcome is reported, never obeyed
 *    (never two outcomes);
 *  - the notified amount or currency differs from the tracked one: nothing is finalised, both are
 *    recorded and operations are told; the inquiries go on and decide.
 */
export function decideAfterNotification(
  refund: TrackedRefund,
  c: Classification,
  ctx: DecisionContext,
): Decision & { conflict?: string; repeat?: boolean } {
  if (c.kind !== 'completed' && c.kind !== 'failed') {
    return {
      patch: {},
      timeline: [{ kind: 'notify', message: `notification ignored: it does not say the refund is final (${c.kind})` }],
      events: [],
      notices: [],
    };
  }
  const says = c.kind === 'completed' ? 'SUCCESS' : `FAIL (${c.reasonCode})`;
  if (isFinal(refund.status)) {
    if ((c.kind === 'completed') === (refund.status === 'completed')) return { patch: {}, timeline: [], events: [], notices: [], repeat: true };
    return { patch: {}, ...contradiction(refund, `Antom notified ${says}`, ctx.now) };
  }
  const differs = c.kind === 'completed' ? amountDiffers(refund.refundAmount, c.refundAmount) : undefined;
  if (differs) {
    const conflict = `Antom notified ${says} for ${differs.antom}, but the refund was initiated for ${differs.initiated}`;
    return {
      patch: {},
      conflict,
      timeline: [{ kind: 'alert', message: `${conflict}: not finalised from the notification, escalated; the inquiries decide` }],
      events: [],
      notices: [
        notice(refund, 'integration.fault', ctx.now, {
          reasonCode: 'NOTIFIED_AMOUNT_DIFFERS',
          resultMessage: conflict,
          playbook: `The notification names another amount than the refund we track (${conflict}). Check the refund in the Antom Dashboard: a refund for a different amount may have been made, or the notification belongs to another refund.`,
          scope: `notified-amount-differs:${refund.id}`,
        }),
      ],
    };
  }
  const decision = finalize(refund, c, {}, 'notify', ctx.now);
  return { ...decision, timeline: [{ kind: 'notify', message: `Antom notified ${says}` }, ...decision.timeline] };
}

/**
 * For a refund whose next inquiry is far away, the passing of time alone can stall it or end its
 * polling; the sweep calls this so deadlines are kept even if the poll loop was down.
 */
export function decideDeadlines(refund: TrackedRefund, ctx: DecisionContext): Decision | undefined {
  if (isFinal(refund.status) || refund.givenUpAt !== undefined) return undefined;
  const out: Omit<Decision, 'patch'> & { patch: RefundPatch } = { patch: {}, timeline: [], events: [], notices: [] };
  deadlines(refund, out.patch, ctx, out);
  if (out.events.length === 0) return undefined;
  if (out.patch.givenUpAt === undefined) {
    const after = apply(refund, out.patch);
    out.patch.nextPollAt = nextPollTime(ctx.now, slowInterval(ctx.schedule, ctx.random), after, ctx.schedule);
  }
  return out;
}
