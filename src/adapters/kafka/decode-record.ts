import type { IHeaders, KafkaMessage } from 'kafkajs';
import { nestsDeeperThan } from '../../domain/json-shape.js';
import type { NewRefund } from '../../domain/refund.js';
import { validateRefundInitiated } from '../../domain/refund-initiated.js';
import type { Rejected } from './dead-letter.js';
import { describeError } from './ingest-errors.js';
import { recordTrace, type CloudEventTrace } from './record-trace.js';

/**
 * Turns a Kafka record into the refund-initiated payload it carries, whichever of the three
 * accepted shapes it has (docs/ingest.md):
 *   - plain JSON: the value is the payload object;
 *   - CloudEvents 1.0 structured mode: the value is the event, the payload is its `data`
 *     (or `data_base64` holding JSON);
 *   - CloudEvents 1.0 binary mode (Kafka protocol binding): `ce_*` headers carry the attributes
 *     and the value is the payload.
 * Only the envelope is checked here, and that the JSON nests no deeper than VALUE_MAX_DEPTH; the
 * payload is validated by the domain.
 */

// A common record nests 2 levels (the payload; its refundAmount, customer and metadata objects), a
// valid one at most 18 (a structured CloudEvent, its data, then metadata at its own limit of 16,
// METADATA_MAX_DEPTH). 32 leaves producers room for fields of their own, and keeps every later
// recursive step over the value (JSON.stringify, zod, a logger's serialiser) thousands of frames
// away from the stack limit. JSON.parse itself is iterative in V8 and parses any depth; the check
// after it is iterative too.
export const VALUE_MAX_DEPTH = 32;

interface CloudEventAttributes extends CloudEventTrace {
  readonly id: string;
  readonly source: string;
  readonly type: string;
}

type DecodedRecord =
  | { ok: true; payload: unknown; event?: CloudEventAttributes }
  | { ok: false; reason: string };

// fatal: invalid UTF-8 is an error, not silently replaced, so a corrupted record is visible.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

function isJsonMediaType(type: string | undefined): boolean {
  if (type === undefined) return true;
  const base = type.split(';')[0]!.trim().toLowerCase();
  return base === 'application/json' || base === 'text/json' || base.endsWith('+json');
}

function parseJson(bytes: Buffer, what: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: `${what} is not valid UTF-8` };
  }
  if (text.trim() === '') return { ok: false, reason: `${what} is empty` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `${what} is not valid JSON: ${(err as Error).message}` };
  }
  if (mayNestDeeperThan(text, VALUE_MAX_DEPTH) && nestsDeeperThan(value, VALUE_MAX_DEPTH)) {
    return { ok: false, reason: `${what} nests deeper than ${VALUE_MAX_DEPTH} levels` };
  }
  return { ok: true, value };
}

/**
 * False when `text` cannot hold more than `max` nested arrays and objects because it has no more
 * than `max` opening brackets at all (inside strings or not): the common record has 3 to 5, and
 * counting them with indexOf costs less than walking the parsed value.
 */
function mayNestDeeperThan(text: string, max: number): boolean {
  let brackets = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++brackets > max) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++brackets > max) return true;
  return false;
}

function checkAttributes(attrs: Record<string, unknown>, prefix: string): CloudEventAttributes | string {
  const specversion = attrs.specversion;
  if (specversion !== '1.0') {
    return `CloudEvent ${prefix}specversion must be "1.0", got ${shortJson(specversion)}`;
  }
  const missing = ['id', 'source', 'type'].filter((k) => typeof attrs[k] !== 'string' || attrs[k] === '');
  if (missing.length > 0) {
    return `CloudEvent is missing required attribute${missing.length > 1 ? 's' : ''} ${missing.map((k) => prefix + k).join(', ')}`;
  }
  // The distributed-tracing extension (docs/operations.md, "Tracing"), checked by recordTrace.
  return { id: attrs.id as string, source: attrs.source as string, type: attrs.type as string, traceparent: attrs.traceparent, tracestate: attrs.tracestate };
}

/** A scalar as JSON, shortened; a container by its kind (a reason must stay short and printable). */
function shortJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return JSON.stringify(typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…` : value) ?? String(value);
}

export function decodeRecord(value: Buffer | null, headers: IHeaders | undefined): DecodedRecord {
  if (value === null || value.length === 0) return { ok: false, reason: 'the record value is empty' };

  // Binary mode: the presence of ce_specversion is what marks it (Kafka protocol binding §3.2).
  if (headers && headers.ce_specversion !== undefined) {
    const attrs: Record<string, unknown> = {
      specversion: headerText(headers, 'ce_specversion'),
      id: headerText(headers, 'ce_id'),
      source: headerText(headers, 'ce_source'),
      type: headerText(headers, 'ce_type'),
      traceparent: headerText(headers, 'ce_traceparent'),
      tracestate: headerText(headers, 'ce_tracestate'),
    };
    const checked = checkAttributes(attrs, 'ce_');
    if (typeof checked === 'string') return { ok: false, reason: `binary-mode ${checked}` };
    const contentType = headerText(headers, 'content-type');
    if (!isJsonMediaType(contentType)) {
      return { ok: false, reason: `binary-mode CloudEvent content-type must be JSON, got "${contentType}"` };
    }
    const parsed = parseJson(value, 'the record value');
    if (!parsed.ok) return parsed;
    return { ok: true, payload: parsed.value, event: checked };
  }

  const parsed = parseJson(value, 'the record value');
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  const contentType = headerText(headers, 'content-type');
  const declaredStructured = contentType?.toLowerCase().startsWith('application/cloudevents+json') ?? false;
  const looksStructured =
    doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'specversion' in (doc as object);
  if (!declaredStructured && !looksStructured) return { ok: true, payload: doc };

  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, reason: 'a structured-mode CloudEvent must be a JSON object' };
  }
  const event = doc as Record<string, unknown>;
  const checked = checkAttributes(event, '');
  if (typeof checked === 'string') return { ok: false, reason: checked };
  if (typeof event.datacontenttype === 'string' && !isJsonMediaType(event.datacontenttype)) {
    return { ok: false, reason: `CloudEvent datacontenttype must be JSON, got "${event.datacontenttype}"` };
  }
  if (event.data !== undefined && event.data !== null) return { ok: true, payload: event.data, event: checked };
  if (typeof event.data_base64 === 'string') {
    const inner = parseJson(Buffer.from(event.data_base64, 'base64'), 'CloudEvent data_base64');
    if (!inner.ok) return inner;
    return { ok: true, payload: inner.value, event: checked };
  }
  return { ok: false, reason: 'CloudEvent has no data' };
}

type ParsedRecord = { ok: true; refund: NewRefund; traceIgnored?: readonly string[] } | { ok: false; reason: string };

/**
 * Decode then validate one record, as the ingest does: the single place that turns a record into a
 * refund. Never throws for any record: whatever goes wrong with one record (a bug here included)
 * becomes that record's dead-letter reason, because an exception out of the batch handler makes
 * kafkajs retry the same batch until it gives up, and the consumer stops for good.
 *
 * `consumedAt` (epoch ms) is when the record was consumed; it stands in for a record timestamp that
 * is missing or implausible. An invalid `consumedAt` is the caller's bug, not the record's, and
 * throws rather than dead-letter every record.
 *
 * With `startTrace`, the refund's origin carries the record's trace context, or a new trace when
 * it has none or an invalid one (record-trace.ts); without it (tests of the parsing alone), none.
 */
export function parseRefundRecord(
  message: { value: Buffer | null; headers?: IHeaders; timestamp: string; offset: string },
  where: { topic: string; partition: number; antomApi: 'v1' | 'v2' },
  consumedAt: number,
  startTrace?: () => string,
): ParsedRecord {
  if (!Number.isFinite(consumedAt) || Number.isNaN(new Date(consumedAt).getTime())) {
    throw new TypeError(`parseRefundRecord: consumedAt must be a time in epoch milliseconds, got ${String(consumedAt)}`);
  }
  try {
    const decoded = decodeRecord(message.value, message.headers);
    if (!decoded.ok) return decoded;
    const trace = startTrace && recordTrace(message.headers, decoded.event, startTrace);
    const result = validateRefundInitiated(decoded.payload, {
      antomApi: where.antomApi,
      recordTimestamp: String(message.timestamp),
      consumedAt,
      origin: {
        topic: where.topic,
        partition: where.partition,
        offset: message.offset,
        ...(decoded.event ? { eventId: decoded.event.id, eventSource: decoded.event.source } : {}),
        ...(trace && { traceparent: trace.traceparent, ...(trace.tracestate !== undefined && { tracestate: trace.tracestate }) }),
      },
    });
    if (!result.ok) return { ok: false, reason: result.problems.join('; ') };
    return trace?.ignored ? { ...result, traceIgnored: trace.ignored } : result;
  } catch (err) {
    return { ok: false, reason: `the record could not be validated: ${errorText(err)}` };
  }
}

/** A record whose trace context was not used, with why (the ingest logs it at debug). */
export interface TraceIgnored {
  readonly offset: string;
  /** The trace the refund continues instead. */
  readonly traceparent: string | undefined;
  readonly reasons: readonly string[];
}

/**
 * A chunk of records sorted into the refunds to track and the records to dead-letter, each with its
 * reason. parseRefundRecord does not throw; the catch here is the second line: whatever one record
 * does, it is that record's reason, never the chunk's.
 */
export function parseRefundRecords(
  messages: readonly KafkaMessage[],
  where: { topic: string; partition: number; antomApi: 'v1' | 'v2' },
  consumedAt: number,
  startTrace?: () => string,
): { good: NewRefund[]; bad: Rejected[]; traceIgnored: TraceIgnored[] } {
  const good: NewRefund[] = [];
  const bad: Rejected[] = [];
  const traceIgnored: TraceIgnored[] = [];
  for (const message of messages) {
    try {
      const result = parseRefundRecord(message, where, consumedAt, startTrace);
      if (!result.ok) bad.push({ message, reason: result.reason });
      else {
        good.push(result.refund);
        if (result.traceIgnored) traceIgnored.push({ offset: message.offset, traceparent: result.refund.origin.traceparent, reasons: result.traceIgnored });
      }
    } catch (err) {
      bad.push({ message, reason: `the record could not be read: ${describeError(err)}` });
    }
  }
  return { good, bad, traceIgnored };
}

function errorText(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    return 'an unprintable error';
  }
}
