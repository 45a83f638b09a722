/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/, level 1): the `traceparent` and
 * `tracestate` a refund carries from its initiating record to its outcome events, its log lines
 * and its spans (docs/operations.md, "Tracing"). Pure: the ids of a trace started here are the
 * caller's (randomness is an argument, as everywhere in the domain).
 */

export interface TraceParent {
  /** 32 lower-case hex digits, not all zeros. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zeros: the span of the caller (the producer of the record). */
  readonly parentId: string;
  /** 2 hex digits; bit 0 is `sampled`. */
  readonly flags: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

// Version 00 only, lower-case hex only: the spec's parsers refuse upper case, and a later version
// is not ours to guess at (a record carrying one starts a new trace here, as an invalid one does).
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);
// A started trace is marked sampled: we make no sampling decision of our own, and a receiver whose
// sampler follows its parent (OpenTelemetry's default) would otherwise drop the whole trace.
const STARTED_FLAGS = '01';

// tracestate (§3.3): at most 32 list-members; a key is a simple key or tenant@system; a value is
// printable ASCII without ',' and '=' and does not end in a space. The spec asks vendors to carry
// at least 512 characters; we carry at most that and drop a longer one whole (its traceparent stays).
const TRACESTATE_MAX_MEMBERS = 32;
const TRACESTATE_MAX_LENGTH = 512;
const TRACESTATE_MEMBER = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** A value shown in a reason: JSON-quoted and cut short, so a hostile header stays one short line. */
function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** Spaces and tabs around a header value, as HTTP allows (checked first: trimming costs more). */
function trimBlanks(text: string): string {
  const blank = (code: number | undefined) => code === 0x20 || code === 0x09;
  return blank(text.charCodeAt(0)) || blank(text.charCodeAt(text.length - 1)) ? text.replace(/^[ \t]+|[ \t]+$/g, '') : text;
}

/**
 * A `traceparent` as W3C defines it (version 00). Every record that carries one is checked on the
 * ingest's hot path, so this is a test and three slices, no capture groups.
 */
export function parseTraceparent(text: string): Parsed<TraceParent> {
  const trimmed = trimBlanks(text);
  if (!TRACEPARENT.test(trimmed)) return { ok: false, reason: `${shown(text)} is not 00-<32 hex>-<16 hex>-<2 hex> in lower case` };
  const traceId = trimmed.slice(3, 35);
  const parentId = trimmed.slice(36, 52);
  const flags = trimmed.slice(53, 55);
  if (traceId === ZERO_TRACE_ID) return { ok: false, reason: `${shown(text)} has an all-zero trace id` };
  if (parentId === ZERO_PARENT_ID) return { ok: false, reason: `${shown(text)} has an all-zero parent id` };
  return { ok: true, value: { traceId, parentId, flags } };
}

/** A `tracestate` as W3C defines it, with its list-members' surrounding spaces removed. */
export function parseTracestate(text: string): Parsed<string> {
  if (text.length > TRACESTATE_MAX_LENGTH) return { ok: false, reason: `tracestate is longer than ${TRACESTATE_MAX_LENGTH} characters` };
  const members = text
    .split(',')
    .map(trimBlanks)
    .filter((m) => m !== '');
  if (members.length > TRACESTATE_MAX_MEMBERS) return { ok: false, reason: `tracestate has more than ${TRACESTATE_MAX_MEMBERS} list-members` };
  const bad = members.find((m) => !TRACESTATE_MEMBER.test(m));
  if (bad !== undefined) return { ok: false, reason: `tracestate list-member ${shown(bad)} is not key=value` };
  return { ok: true, value: members.join(',') };
}

export function formatTraceparent(p: TraceParent): string {
  return `00-${p.traceId}-${p.parentId}-${p.flags}`;
}

/**
 * A new trace, for a record that carried no usable traceparent: `ids` is 48 random lower-case hex
 * digits (a trace id, then a parent id), as the caller's random source makes them. Undefined if either half is all zeros (a chance of about 2^-64:
 * the caller draws again).
 */
export function startedTraceparent(ids: string): string | undefined {
  const traceId = ids.slice(0, 32);
  const parentId = ids.slice(32, 48);
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return undefined;
  return formatTraceparent({ traceId, parentId, flags: STARTED_FLAGS });
}

/** The trace id of a stored traceparent (validated when it was stored), for log lines. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent !== undefined && traceparent.length === 55 ? traceparent.slice(3, 35) : undefined;
}
