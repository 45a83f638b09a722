import type { Decision } from '../domain/decide.js';
import type { Notice } from '../domain/notice.js';
import { CLOUDEVENTS_CONTENT_TYPE, type OutcomeEvent, type OutcomeType } from '../domain/outcome-event.js';
import type { OutboxEntryInput } from './ports.js';

export interface OutcomeTopics {
  readonly completed: string;
  readonly failed: string;
  readonly stalled: string;
}

/** What an event outbox entry carries: the record exactly as it will be produced. */
export interface EventPayload {
  readonly key: string;
  /**
   * The CloudEvent serialised once, when decided, so every redelivery is byte-identical; only its
   * traceparent's parent id names each publish's own span when spans are recorded.
   */
  readonly value: string;
  readonly headers: Record<string, string>;
}

function topicFor(type: OutcomeType, topics: OutcomeTopics): string {
  return type === 'refund.completed' ? topics.completed : type === 'refund.failed' ? topics.failed : topics.stalled;
}

/**
 * The record's headers: the content type, and the refund's trace context as the W3C headers
 * (docs/operations.md, "Tracing"). The publisher reads the stored traceparent from here to parent
 * its span, and names that span in both the header and the event when it records one.
 */
function eventHeaders(event: OutcomeEvent): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': CLOUDEVENTS_CONTENT_TYPE };
  if (event.traceparent !== undefined) headers.traceparent = event.traceparent;
  if (event.tracestate !== undefined) headers.tracestate = event.tracestate;
  return headers;
}

function noticeDedupeKey(n: Notice): string {
  return `notice:${n.scope ?? `${n.event}:${n.refundKey}${n.stage === undefined ? '' : `:${n.stage}`}`}`;
}

/** Routes a notice to its deliveries (src/app/notify/plan-deliveries.ts). */
export type NoticeRouter = (notice: Notice, now: number) => OutboxEntryInput[];

/**
 * The outbox entries of a decision: one per outcome event, and the notices' deliveries, routed now
 * and written with the state change itself (a notice with a scope routes under it, so an alert
 * raised by many refunds is written once). Without a router (a poll loop tested on its own) the
 * notices are written as they are, for a dispatcher that routes them.
 */
export function decisionOutbox(decision: Decision, topics: OutcomeTopics, now: number, route?: NoticeRouter): OutboxEntryInput[] {
  const entries: OutboxEntryInput[] = decision.events.map((event: OutcomeEvent) => ({
    // The event id is deterministic (<refundId>:<type>[:stage]): the same outcome can never be
    // queued twice, whichever path (poll or notify) decided it.
    dedupeKey: `event:${event.id}`,
    kind: 'event',
    channel: topicFor(event.type, topics),
    payload: {
      key: event.subject,
      value: JSON.stringify(event),
      headers: eventHeaders(event),
    } satisfies EventPayload,
    availableAt: now,
  }));
  for (const n of decision.notices) {
    if (route) entries.push(...route(n, now));
    else entries.push({ dedupeKey: noticeDedupeKey(n), kind: 'notice', channel: 'notice', payload: n, availableAt: now });
  }
  return entries;
}
