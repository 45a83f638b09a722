import type { IHeaders } from 'kafkajs';
import type { NewRefund } from '../../domain/refund.js';
import { validateRefundInitiated } from '../../domain/refund-initiated.js';

/**
 * Turns a Kafka record into the refund-initiated payload it carries, whichever of the three
 * accepted shapes it has (CONTRACT.md, "Input"):
 *   - plain JSON: the value is the payload object;
 *   - CloudEvents 1.0 structured mode: the value is the event, the payload is its `data`
 *     (or `data_base64` holding JSON);
 *   - CloudEvents 1.0 binary mode (Kafka protocol binding): `ce_*` headers carry the attributes
 *     and the value is the payload.
 * Only the envelope is checked here; the payload is validated by the domain.
 */

export interface CloudEventAttributes {
  readonly id: string;
  readonly source: string;
  readonly type: string;
}

export type DecodedRecord =
  | { ok: true; payload: unknown; event?: CloudEventAttributes }
  | { ok: false; reason: string };

// fatal: invalid UTF-8 is an error, not silently replaced, so a corrupted record is visible.
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
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
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `${what} is not valid JSON: ${(err as Error).message}` };
  }
}

function checkAttributes(attrs: Record<string, unknown>, prefix: string): CloudEventAttributes | string {
  const specversion = attrs.specversion;
  if (specversion !== '1.0') {
    return `CloudEvent ${prefix}specversion must be "1.0", got ${JSON.stringify(specversion ?? null)}`;
  }
  const missing = ['id', 'source', 'type'].filter((k) => typeof attrs[k] !== 'string' || attrs[k] === '');
  if (missing.length > 0) {
    return `CloudEvent is missing required attribute${missing.length > 1 ? 's' : ''} ${missing.map((k) => prefix + k).join(', ')}`;
  }
  return { id: attrs.id as string, source: attrs.source as string, type: attrs.type as string };
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

export type ParsedRecord = { ok: true; refund: NewRefund } | { ok: false; reason: string };

/** Decode then validate one record, as the ingest does: the single place that turns a record into a refund. */
export function parseRefundRecord(
  message: { value: Buffer | null; headers?: IHeaders; timestamp: string; offset: string },
  where: { topic: string; partition: number; antomApi: 'v1' | 'v2' },
): ParsedRecord {
  const decoded = decodeRecord(message.value, message.headers);
  if (!decoded.ok) return decoded;
  const result = validateRefundInitiated(decoded.payload, {
    antomApi: where.antomApi,
    recordTimestamp: Number(message.timestamp),
    origin: {
      topic: where.topic,
      partition: where.partition,
      offset: message.offset,
      ...(decoded.event ? { eventId: decoded.event.id, eventSource: decoded.event.source } : {}),
    },
  });
  return result.ok ? result : { ok: false, reason: result.problems.join('; ') };
}
