import type { IHeaders } from 'kafkajs';
import { parseTraceparent, parseTracestate, formatTraceparent } from '../../domain/trace-context.js';

/**
 * The trace context a refund continues, read from its initiating record (docs/operations.md,
 * "Tracing"). Candidates, first valid one wins:
 *   1. the Kafka headers `traceparent` (and `tracestate`): what OpenTelemetry's Kafka
 *      instrumentation writes, naming the span that produced this very record;
 *   2. the CloudEvents distributed-tracing extension: the `traceparent` (and `tracestate`)
 *      attribute of a structured-mode event, or the `ce_traceparent` header of a binary-mode one.
 *      It carries the trace the event started in, which on a single hop is the same one.
 * None, or none valid: a new trace is started. An invalid one never costs the record: it is
 * ignored, with its reason for a debug log line.
 */

export interface RecordTrace {
  readonly traceparent: string;
  readonly tracestate?: string;
  /** Why a trace context on the record was not used (logged at debug by the ingest). */
  readonly ignored?: readonly string[];
}

/** The CloudEvents extension attributes as the record carried them (any JSON type). */
export interface CloudEventTrace {
  readonly traceparent?: unknown;
  readonly tracestate?: unknown;
}

/** Every value of a header, decoded (kafkajs gives a repeated header as an array). */
function headerValues(headers: IHeaders | undefined, name: string): string[] {
  const raw = headers?.[name];
  if (raw === undefined || raw === null) return [];
  return (Array.isArray(raw) ? raw : [raw]).map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
}

type Candidate = { what: string; traceparent: unknown; tracestate?: unknown; repeated?: boolean };

function fromCandidate(c: Candidate, ignored: string[]): Omit<RecordTrace, 'ignored'> | undefined {
  if (c.repeated) {
    ignored.push(`${c.what} traceparent appears more than once`);
    return undefined;
  }
  if (typeof c.traceparent !== 'string') {
    ignored.push(`${c.what} traceparent is not a string`);
    return undefined;
  }
  const parent = parseTraceparent(c.traceparent);
  if (!parent.ok) {
    ignored.push(`${c.what} traceparent ${parent.reason}`);
    return undefined;
  }
  const traceparent = formatTraceparent(parent.value);
  if (c.tracestate === undefined || c.tracestate === null || c.tracestate === '') return { traceparent };
  const state = typeof c.tracestate === 'string' ? parseTracestate(c.tracestate) : { ok: false as const, reason: 'tracestate is not a string' };
  if (!state.ok) {
    ignored.push(`${c.what} ${state.reason}; the traceparent is kept`);
    return { traceparent };
  }
  return state.value === '' ? { traceparent } : { traceparent, tracestate: state.value };
}

export function recordTrace(headers: IHeaders | undefined, event: CloudEventTrace | undefined, startTrace: () => string): RecordTrace {
  // The common record carries none: a new trace, nothing read or parsed.
  if (headers?.traceparent === undefined && event?.traceparent === undefined) return { traceparent: startTrace() };
  const candidates: Candidate[] = [];
  const parents = headerValues(headers, 'traceparent');
  if (parents.length > 0) {
    // W3C: several traceparent headers are an invalid one; several tracestate headers are one list.
    const tracestate = headerValues(headers, 'tracestate').join(',');
    candidates.push({ what: 'Kafka header', traceparent: parents[0], tracestate, repeated: parents.length > 1 });
  }
  if (event?.traceparent !== undefined) candidates.push({ what: 'CloudEvents', traceparent: event.traceparent, tracestate: event.tracestate });
  const ignored: string[] = [];
  for (const c of candidates) {
    const found = fromCandidate(c, ignored);
    if (found) return ignored.length > 0 ? { ...found, ignored } : found;
  }
  return ignored.length > 0 ? { traceparent: startTrace(), ignored } : { traceparent: startTrace() };
}
