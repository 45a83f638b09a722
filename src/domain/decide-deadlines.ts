import { formatElapsed } from './notification-content.js';
import { isFinal, type Decision, type DecisionContext, type DecisionTimelineEntry } from './decide.js';
import { noticeSubject, type Notice } from './notice.js';
import { stalledEvent, type OutcomeEvent } from './outcome-event.js';
import type { TrackedRefund } from './refund.js';
import { giveUpAt, nextPollTime, slowInterval, stalledAt } from './schedule.js';

/**
 * What the passing of time alone does to a refund that is not final: past POLL_STALLED_AFTER it
 * is stalled (escalated, polling goes on at the ceiling), past POLL_GIVE_UP_AFTER its polling
 * stops. Checked after every inquiry (decide-inquiry.ts) and by the deadline sweep.
 */

/** Stalls a refund: escalated, reported (stage 1); polling goes on at the ceiling. */
export function stall(refund: TrackedRefund, now: number): { next: TrackedRefund; event: OutcomeEvent; notice: Notice } {
  const next: TrackedRefund = { ...refund, status: 'stalled', stalledAt: now, escalated: true };
  return { next, event: stalledEvent(next, now, 1), notice: { ...noticeSubject(next, 'refund.stalled', now), stage: 1 } };
}

export interface PassedDeadlines {
  readonly next: TrackedRefund;
  readonly events: OutcomeEvent[];
  readonly notices: Notice[];
  readonly timeline: DecisionTimelineEntry[];
  /** Polling stopped with this decision: no next inquiry is to be scheduled. */
  readonly gaveUp: boolean;
}

/** The deadlines a refund has reached by `ctx.now`, applied to its next state. */
export function passDeadlines(next: TrackedRefund, ctx: DecisionContext): PassedDeadlines {
  const { now, schedule: s } = ctx;
  const out = { next, events: [] as OutcomeEvent[], notices: [] as Notice[], timeline: [] as DecisionTimelineEntry[], gaveUp: false };
  if (out.next.stalledAt === undefined && now >= stalledAt(next.recordedAt, s)) {
    const stalled = stall(out.next, now);
    out.next = stalled.next;
    out.events.push(stalled.event);
    out.notices.push(stalled.notice);
    out.timeline.push({ kind: 'stalled', message: `not final after ${formatElapsed(s.stalledAfterMs)}: stalled, escalated; polling goes on` });
  }
  if (out.next.givenUpAt === undefined && now >= giveUpAt(next.recordedAt, s)) {
    out.next = { ...out.next, status: 'stalled', givenUpAt: now, nextPollAt: undefined, stalledAt: out.next.stalledAt ?? now };
    out.gaveUp = true;
    out.events.push(stalledEvent(out.next, now, 2));
    out.notices.push({ ...noticeSubject(out.next, 'refund.stalled', now), stage: 2 });
    out.timeline.push({ kind: 'given-up', message: 'polling stopped (POLL_GIVE_UP_AFTER); the refund stays stalled, never reported failed' });
  }
  return out;
}

/**
 * For a refund whose next inquiry is far away, the passing of time alone can stall it or end its
 * polling; the sweep calls this so deadlines are kept even if the poll loop was down. Undefined
 * when no deadline was reached.
 */
export function decideDeadlines(refund: TrackedRefund, ctx: DecisionContext): Decision | undefined {
  if (isFinal(refund.status) || refund.givenUpAt !== undefined) return undefined;
  const { gaveUp, ...passed } = passDeadlines(refund, ctx);
  if (passed.events.length === 0) return undefined;
  if (gaveUp) return passed;
  // Stalled now: the next inquiry moves to the ceiling.
  return { ...passed, next: { ...passed.next, nextPollAt: nextPollTime(ctx.now, slowInterval(ctx.schedule, ctx.random), passed.next, ctx.schedule) } };
}
