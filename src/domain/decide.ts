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
import type { TimelineKind, TrackedRefund, TrackingStatus } from './refund.js';
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
  const common: RefundPatch = { ...patch, detectedBy: by, finalizedAt: now, nextPollAt: null, consecutiveErrors: 0 };
  if (c.kind === 'completed') {
    Object.assign(common, {
      status: 'completed' as const,
      lastRefundStatus: c.refundStatus,
      reasonCode: null,
      resultCode: c.resultCode,
      resultMessage: c.resultMessage,
      ...(c.refundTime ? { refundTime: c.refundTime } : {}),
      ...(c.refundId && !refund.refundId ? { refundId: c.refundId } : {}),
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
  return {
    patch: common,
    outcome: after.status === 'completed' ? 'completed' : 'failed',
    timeline: [
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
    notices: [notice(after, event.type, now, playbook ? { playbook } : {})],
  };
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
    // Claimed by mistake or raced with a notification: a final refund is never changed.
    return { patch: { nextPollAt: null }, timeline: [], events: [], notices: [] };
  }
  const inquiries = refund.inquiries + 1;
  const base: RefundPatch = { inquiries };
  if (c.kind === 'completed' || c.kind === 'failed') return finalize(refund, c, base, 'poll', now);

  if (c.kind === 'not-found' && now - refund.recordedAt >= s.notFoundGraceMs) {
    return finalize(
      refund,
      {
        kind: 'failed',
        reasonCode: c.reasonCode,
        resultCode: c.resultCode,
        resultMessage: c.resultMessage,
        escalate: true,
        ...(c.playbook ? { playbook: c.playbook } : {}),
      },
      base,
      'poll',
      now,
    );
  }

  const out: Omit<Decision, 'patch'> & { patch: RefundPatch } = { patch: base, timeline: [], events: [], notices: [] };
  const patch = out.patch;
  let interval: number;
  switch (c.kind) {
    case 'pending':
      Object.assign(patch, { lastRefundStatus: c.refundStatus, consecutiveErrors: 0, reasonCode: null });
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
 * After an Antom notifyRefund (already verified and classified as completed or failed): finalize,
 * unless the refund is final already — then nothing changes, and a notification that contradicts
 * the known outcome is reported rather than obeyed (never two different outcomes).
 */
export function decideAfterNotification(
  refund: TrackedRefund,
  c: Classification,
  ctx: DecisionContext,
): Decision & { conflict?: string } {
  if (c.kind !== 'completed' && c.kind !== 'failed') {
    return {
      patch: {},
      timeline: [{ kind: 'notify', message: `notification ignored: it does not say the refund is final (${c.kind})` }],
      events: [],
      notices: [],
    };
  }
  if (isFinal(refund.status)) {
    const same = (c.kind === 'completed') === (refund.status === 'completed');
    return {
      patch: {},
      timeline: [
        {
          kind: 'notify',
          message: same
            ? `notification repeats the known outcome (${refund.status})`
            : `notification says ${c.kind} but the refund is already ${refund.status}: kept ${refund.status}`,
        },
      ],
      events: [],
      notices: [],
      ...(same ? {} : { conflict: `notification says ${c.kind}, refund already ${refund.status}` }),
    };
  }
  const decision = finalize(refund, c, {}, 'notify', ctx.now);
  return { ...decision, timeline: [{ kind: 'notify', message: `Antom notified ${c.kind === 'completed' ? 'SUCCESS' : 'FAIL'}` }, ...decision.timeline] };
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
