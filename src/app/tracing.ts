import { traceIdOf } from '../domain/trace-context.js';
import type { TraceSpan, Tracing } from './ports.js';

/**
 * What the use cases need of tracing beyond the port (docs/operations.md, "Tracing"): the log
 * fields of a refund's trace, and the tracing used where none is wired (tests, tools).
 */

/** `trace_id` for a log line about a refund whose stored trace context is `traceparent`. */
export function traceLogFields(traceparent: string | undefined): { trace_id?: string } {
  const traceId = traceIdOf(traceparent);
  return traceId === undefined ? {} : { trace_id: traceId };
}

/**
 * `trace_id` for a log line about an outbox entry: an outcome event and a notice carry their
 * refund's `traceparent` at the top of their payload, a delivery in its subject; a message about
 * no refund (an outage notice) has none.
 */
export function outboxTraceLogFields(payload: unknown): { trace_id?: string } {
  if (typeof payload !== 'object' || payload === null) return {};
  const { traceparent, subject } = payload as { traceparent?: unknown; subject?: { traceparent?: unknown } };
  if (typeof traceparent === 'string') return traceLogFields(traceparent);
  const nested = typeof subject === 'object' && subject !== null ? subject.traceparent : undefined;
  return typeof nested === 'string' ? traceLogFields(nested) : {};
}

const noop = () => undefined;

/** A span that records nothing: the trace goes on under `parent`, unchanged. */
export function unrecordedSpan(parent: string | undefined): TraceSpan {
  return { recording: false, logFields: traceLogFields(parent), set: noop, fail: noop, end: noop, traceparent: () => parent };
}

/** Spans that are never recorded: no exporter, or a use case tested on its own. */
export const noTracing: Tracing = { span: (_name, parent) => unrecordedSpan(parent) };
