import type { Classification } from './classify.js';
import { contradiction, faultNotice, finalize, HOUR_MS, isFinal, iso, unchanged, type Decision, type DecisionContext, type DecisionTimelineEntry } from './decide.js';
import { passDeadlines, stall } from './decide-deadlines.js';
import type { Notice } from './notice.js';
import type { OutcomeEvent } from './outcome-event.js';
import { nonEmpty, type TrackedRefund } from './refund.js';
import { nextPollTime, pendingInterval, retryInterval, slowInterval } from './schedule.js';

/**
 * What happens after one inquiry: what Antom's classified answer means for the refund. A final
 * answer finalises it (a failure read from an F result only once confirmed); anything else sets
 * when it is asked next, and the stall and give-up deadlines are checked (decide-deadlines.ts).
 */

/**
 * A failure read from an F result is asked about again this long after it was first seen, and is
 * confirmed only by an answer signed at least CONFIRM_MIN_GAP_MS after the first: a captured
 * answer replayed twice carries the same response-time. The default delay costs one extra inquiry
 * per failed refund and a few seconds before the failure is reported.
 */
export const DEFAULT_CONFIRM_FAILURE_AFTER_MS = 5_000;
export const CONFIRM_MIN_GAP_MS = 1;

/** After one inquiry: what the classification means for this refund. */
export function decideAfterInquiry(refund: TrackedRefund, c: Classification, ctx: DecisionContext): Decision {
  return withAnswer(decideOnAnswer(refund, c, ctx), c);
}

/**
 * The first timeline entry an inquiry writes carries what Antom answered and how it was
 * classified (`detail.answer`), so a refund's timeline shows each answer as it was read (the
 * operations console). No extra row: a completed refund's first entry is its status change.
 */
function withAnswer(decision: Decision, c: Classification): Decision {
  const [first, ...rest] = decision.timeline;
  if (!first) return decision;
  const answer: Record<string, string> = { classification: c.kind };
  if ('resultCode' in c && c.resultCode) answer.resultCode = c.resultCode;
  if ('refundStatus' in c && c.refundStatus) answer.refundStatus = c.refundStatus;
  if ('reasonCode' in c && c.reasonCode) answer.reasonCode = c.reasonCode;
  if (c.kind === 'retry') answer.reason = c.reason;
  return { ...decision, timeline: [{ ...first, detail: { ...first.detail, answer } }, ...rest] };
}

function decideOnAnswer(refund: TrackedRefund, c: Classification, ctx: DecisionContext): Decision {
  if (isFinal(refund.status)) return afterFinal(refund, c, ctx.now);
  const asked: TrackedRefund = { ...refund, inquiries: refund.inquiries + 1 };
  switch (c.kind) {
    case 'completed':
      return finalize(asked, c, 'poll', ctx.now);
    case 'failed':
      return c.unconfirmed ? unconfirmedFailure(asked, c, c.unconfirmed.respondedAt, ctx) : finalize(asked, c, 'poll', ctx.now);
    case 'not-found':
      if (ctx.now - refund.recordedAt >= ctx.schedule.notFoundGraceMs) return keepPolling(notFoundPastGrace(asked, c, ctx), ctx);
      return keepPolling(notFound(asked, c, ctx), ctx);
    case 'pending':
      return keepPolling(stillPending(asked, c, ctx), ctx);
    case 'retry':
      return keepPolling(noAnswer(asked, c, ctx), ctx);
    case 'integration-fault':
      return keepPolling(integrationFault(asked, c, ctx), ctx);
  }
}

/**
 * Claimed by mistake or raced with a notification: a final refund is never changed, only taken
 * off the schedule. An answer that contradicts its outcome is reported, once per refund.
 */
function afterFinal(refund: TrackedRefund, c: Classification, now: number): Decision {
  const next: TrackedRefund = { ...refund, nextPollAt: undefined };
  const says = c.kind === 'completed' || (c.kind === 'failed' && !c.unconfirmed) ? c.kind : undefined;
  if (says === undefined || says === refund.status) return unchanged(next);
  const answered = says === 'completed' ? 'SUCCESS' : `FAIL (${c.kind === 'failed' ? c.reasonCode : ''})`;
  return { next, ...contradiction(refund, `an inquiry answered ${answered}`, now) };
}

/** An F result names no refund: it is asked again before anyone is told the refund failed. */
function unconfirmedFailure(
  asked: TrackedRefund,
  c: Extract<Classification, { kind: 'failed' }>,
  respondedAt: number,
  ctx: DecisionContext,
): Decision {
  const first = asked.unconfirmedFailure;
  if (first && first.code === c.reasonCode && respondedAt - first.respondedAt >= CONFIRM_MIN_GAP_MS) {
    const decision = finalize(asked, c, 'poll', ctx.now);
    const confirmed: DecisionTimelineEntry = { kind: 'inquiry', message: `Antom answered F ${c.resultCode} again (signed ${iso(respondedAt)}): failure confirmed` };
    return { ...decision, timeline: [confirmed, ...decision.timeline] };
  }
  const delay = ctx.schedule.confirmFailureAfterMs ?? DEFAULT_CONFIRM_FAILURE_AFTER_MS;
  const next: TrackedRefund = { ...asked, unconfirmedFailure: { code: c.reasonCode, respondedAt }, consecutiveErrors: 0 };
  return {
    next: { ...next, nextPollAt: nextPollTime(ctx.now, delay, next, ctx.schedule) },
    timeline: [
      {
        kind: 'inquiry',
        message: `Antom answered F ${c.resultCode} (${c.resultMessage}); a failure result names no refund, so it is asked again to confirm`,
        detail: { inquiry: asked.inquiries, respondedAt: iso(respondedAt) },
      },
    ],
    events: [],
    notices: [],
  };
}

/** An answer that leaves the refund not final: its next state, and when to ask next. */
interface Step {
  readonly next: TrackedRefund;
  /** Until the next inquiry; `ceiling`: at the ceiling, drawn when the inquiry is scheduled. */
  readonly intervalMs: number | 'ceiling';
  readonly timeline: DecisionTimelineEntry[];
  readonly notices: Notice[];
  readonly events?: OutcomeEvent[];
  readonly slowDown?: Decision['slowDown'];
}

/** The deadlines, then the next inquiry (none once polling stopped). */
function keepPolling(step: Step, ctx: DecisionContext): Decision {
  const { now, schedule: s } = ctx;
  const passed = passDeadlines(step.next, ctx);
  let next = passed.next;
  if (!passed.gaveUp) {
    // Once stalled, polling goes on at the ceiling.
    const intervalMs =
      step.intervalMs === 'ceiling'
        ? slowInterval(s, ctx.random)
        : next.stalledAt !== undefined
          ? Math.max(step.intervalMs, slowInterval(s, ctx.random))
          : step.intervalMs;
    next = { ...next, nextPollAt: nextPollTime(now, intervalMs, next, s) };
  }
  return {
    next,
    timeline: [...step.timeline, ...passed.timeline],
    events: [...(step.events ?? []), ...passed.events],
    notices: [...step.notices, ...passed.notices],
    slowDown: step.slowDown,
  };
}

function stillPending(asked: TrackedRefund, c: Extract<Classification, { kind: 'pending' }>, ctx: DecisionContext): Step {
  return {
    // A signed answer naming the refund says it is still going: an earlier F result (which names
    // no refund) was not about it.
    next: { ...asked, lastRefundStatus: c.refundStatus, consecutiveErrors: 0, reasonCode: undefined, unconfirmedFailure: undefined },
    intervalMs: pendingInterval(asked.inquiries, ctx.schedule, ctx.random),
    timeline: [{ kind: 'inquiry', message: `still ${c.refundStatus}`, detail: { inquiry: asked.inquiries } }],
    notices: [],
  };
}

/** Not known at Antom yet, within POLL_NOT_FOUND_GRACE: our records can be ahead of Antom's. */
function notFound(asked: TrackedRefund, c: Extract<Classification, { kind: 'not-found' }>, ctx: DecisionContext): Step {
  const errors = asked.consecutiveErrors + 1;
  return {
    next: { ...asked, consecutiveErrors: errors, reasonCode: c.reasonCode },
    intervalMs: retryInterval(errors, ctx.schedule, ctx.random),
    timeline: [
      {
        kind: 'inquiry',
        message: `not found at Antom (${c.resultCode}); retried until ${iso(asked.recordedAt + ctx.schedule.notFoundGraceMs)}`,
        detail: { inquiry: asked.inquiries },
      },
    ],
    notices: [],
  };
}

/**
 * Antom still does not know the refund after POLL_NOT_FOUND_GRACE. That is never an outcome: a
 * wrong ANTOM_CLIENT_ID or environment looks exactly like this for every refund, and a later
 * SUCCESS notification must still be able to complete it. The refund is stalled (operations are
 * told, as for any stall) and an integration fault is raised once an hour; polling goes on at
 * the ceiling.
 */
function notFoundPastGrace(asked: TrackedRefund, c: Extract<Classification, { kind: 'not-found' }>, ctx: DecisionContext): Step {
  const { now } = ctx;
  let next: TrackedRefund = { ...asked, consecutiveErrors: asked.consecutiveErrors + 1, reasonCode: c.reasonCode, unconfirmedFailure: undefined };
  const events: OutcomeEvent[] = [];
  const notices: Notice[] = [];
  if (next.stalledAt === undefined) {
    const stalled = stall(next, now);
    next = stalled.next;
    events.push(stalled.event);
    notices.push(stalled.notice);
  }
  notices.push(
    faultNotice(next, now, {
      reasonCode: c.reasonCode,
      resultCode: c.resultCode,
      resultMessage: c.resultMessage,
      playbook:
        c.playbook ??
        'Antom does not know refunds we track: check ANTOM_CLIENT_ID, ANTOM_BASE_URL and ANTOM_API (sandbox against production?), and that the refund ids in the refund-initiated records are Antom\'s.',
      scope: `integration-fault:${c.reasonCode}:${Math.floor(now / HOUR_MS)}`,
    }),
  );
  const minutes = Math.round((now - asked.recordedAt) / 60_000);
  return {
    next,
    intervalMs: 'ceiling',
    timeline: [{ kind: 'alert', message: `still not found at Antom (${c.resultCode}) ${minutes} min after it was tracked: stalled and escalated, never failed; polling goes on` }],
    notices,
    events,
  };
}

/** The answer told nothing about the refund (a transport error, a U result, a traffic limit). */
function noAnswer(asked: TrackedRefund, c: Extract<Classification, { kind: 'retry' }>, ctx: DecisionContext): Step {
  const errors = asked.consecutiveErrors + 1;
  const next: TrackedRefund = { ...asked, consecutiveErrors: errors };
  const notices: Notice[] = [];
  if (c.alert && c.unknownCode) {
    notices.push(
      faultNotice(next, ctx.now, {
        reasonCode: c.unknownCode,
        resultCode: nonEmpty(c.resultCode),
        resultMessage: nonEmpty(c.resultMessage),
        playbook: `Antom sent ${c.unknownCode}, which config/result-codes.yaml does not know: refunds with it are retried; add the code to the table with what it means.`,
        scope: `unknown-code:${c.unknownCode}:${Math.floor(ctx.now / HOUR_MS)}`,
      }),
    );
  }
  return {
    next,
    intervalMs: retryInterval(errors, ctx.schedule, ctx.random, c.retryAfterMs),
    timeline: [{ kind: 'inquiry', message: `no answer about the refund: ${c.reason}`, detail: { inquiry: asked.inquiries, errors } }],
    notices,
    slowDown: c.slowDown ? { retryAfterMs: c.retryAfterMs } : undefined,
  };
}

/** A fault on our side (access denied, a wrong key, …): polling slows, operations hear once per code. */
function integrationFault(asked: TrackedRefund, c: Extract<Classification, { kind: 'integration-fault' }>, ctx: DecisionContext): Step {
  const next: TrackedRefund = { ...asked, consecutiveErrors: asked.consecutiveErrors + 1, reasonCode: c.reasonCode };
  const firstOfKind = asked.reasonCode !== c.reasonCode;
  return {
    next,
    intervalMs: slowInterval(ctx.schedule, ctx.random),
    timeline: [{ kind: 'alert', message: `integration fault ${c.reasonCode}: ${c.message}; polling slowed`, detail: { inquiry: asked.inquiries } }],
    notices: firstOfKind
      ? [
          faultNotice(next, ctx.now, {
            reasonCode: c.reasonCode,
            resultCode: nonEmpty(c.resultCode),
            resultMessage: nonEmpty(c.resultMessage),
            playbook: nonEmpty(c.playbook),
            scope: `integration-fault:${c.reasonCode}:${Math.floor(ctx.now / HOUR_MS)}`,
          }),
        ]
      : [],
  };
}
