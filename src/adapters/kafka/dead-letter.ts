import { createHash } from 'node:crypto';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { Logger } from 'pino';
import type { RecordSender } from './producer.js';

/** The dead-letter headers of the contract, plus the source timestamp and group for forensics. */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  topic: 'x-dlq-source-topic',
  partition: 'x-dlq-source-partition',
  offset: 'x-dlq-source-offset',
  timestamp: 'x-dlq-source-timestamp',
  group: 'x-dlq-consumer-group',
  /** On a stub only: `true`, the size in bytes of the original value, and its SHA-256 (hex). */
  truncated: 'x-dlq-truncated',
  originalSize: 'x-dlq-original-size',
  originalSha256: 'x-dlq-original-sha256',
} as const;

/** A record the ingest will not track, and why. */
export interface Rejected {
  readonly message: KafkaMessage;
  readonly reason: string;
}

export interface DeadLetterWriter {
  /**
   * Writes the rejected records of one source partition, in order. Resolves once the broker
   * acknowledged every one; throws a DeadLetterUnwritableError when the topic cannot take them,
   * and then they must not be committed past.
   */
  write(source: { topic: string; partition: number }, rejected: readonly Rejected[]): Promise<void>;
  readonly stats: { readonly deadLettered: number; readonly stubbed: number };
}

/** The dead-letter topic cannot be written (missing, not writable, the broker down): an outage. */
class DeadLetterUnwritableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeadLetterUnwritableError';
  }
}

// A reason is for humans and must fit comfortably in a header; the first problems say enough.
const REASON_MAX = 1000;
// 512 KiB a request: half the broker's default limit per record batch, so a request of many
// small records never meets MESSAGE_TOO_LARGE, and 512 KiB is still hundreds of typical records.
const MAX_REQUEST_BYTES = 512 * 1024;
// A record copied whole must fit with its headers under the broker's default 1 MiB.
const MAX_RECORD_BYTES = 900 * 1024;
// A stub keeps the first 64 KiB of the value: enough to see what it was.
const STUB_VALUE_BYTES = 64 * 1024;
// A stub's key is cut to 1 KiB: a key of a megabyte is the kind of thing a stub stands in for.
const STUB_KEY_BYTES = 1024;
// Kafka's per-record framing (lengths, offsets, timestamp deltas) is a few dozen bytes at most.
const RECORD_OVERHEAD_BYTES = 64;

/**
 * Writes rejected records to the dead-letter topic (docs/ingest.md, "Dead-lettering"): each
 * unchanged with the x-dlq-* headers, in produce requests bounded by bytes (a count bound lets
 * 500 records of 5 KB exceed the broker's limit, which no retry fixes), and a record too large to
 * copy whole as a stub.
 */
export function createDeadLetterWriter(options: {
  producer: RecordSender;
  /** TOPIC_DEAD_LETTER. */
  topic: string;
  /** The ingest's consumer group, named in x-dlq-consumer-group. */
  groupId: string;
  logger: Logger;
  /**
   * The largest produce request, and the largest record copied whole. The defaults fit the
   * broker's default `max.message.bytes` (1 MiB) with room for headers and framing; a topic
   * configured smaller still works (a MESSAGE_TOO_LARGE answer splits the request, then stubs the
   * record).
   */
  maxRequestBytes?: number;
  maxRecordBytes?: number;
}): DeadLetterWriter {
  const stats = { deadLettered: 0, stubbed: 0 };
  const maxRequestBytes = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;

  function headersFor(source: { topic: string; partition: number }, message: KafkaMessage, reason: string): IHeaders {
    return {
      [DLQ_HEADERS.reason]: reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX - 1)}…` : reason,
      [DLQ_HEADERS.topic]: source.topic,
      [DLQ_HEADERS.partition]: String(source.partition),
      [DLQ_HEADERS.offset]: message.offset,
      [DLQ_HEADERS.timestamp]: message.timestamp,
      [DLQ_HEADERS.group]: options.groupId,
    };
  }

  /** The record as it was, byte for byte, so it can be inspected or replayed. */
  function copy(source: { topic: string; partition: number }, { message, reason }: Rejected): Message {
    return { key: message.key, value: message.value, headers: { ...(message.headers ?? {}), ...headersFor(source, message, reason) } };
  }

  /**
   * A record too large to copy whole: its key, the x-dlq-* headers (not the original headers,
   * which may be what is large), the first 64 KiB of its value, and the size and SHA-256 of the
   * whole value, so it can be found and matched in the source topic.
   */
  function stub(source: { topic: string; partition: number }, { message, reason }: Rejected): Message {
    const value = message.value ?? Buffer.alloc(0);
    stats.stubbed += 1;
    return {
      key: message.key !== null && message.key.length > STUB_KEY_BYTES ? message.key.subarray(0, STUB_KEY_BYTES) : message.key,
      value: value.subarray(0, STUB_VALUE_BYTES),
      headers: {
        ...headersFor(source, message, `${reason} (dead-lettered as a stub: the record is too large to copy whole)`),
        [DLQ_HEADERS.truncated]: 'true',
        [DLQ_HEADERS.originalSize]: String(value.length),
        [DLQ_HEADERS.originalSha256]: createHash('sha256').update(value).digest('hex'),
      },
    };
  }

  async function send(source: { topic: string; partition: number }, messages: Message[], rejected: readonly Rejected[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await options.producer.send({ topic: options.topic, messages, acks: -1 });
    } catch (err) {
      if (isTooLarge(err)) {
        // The topic takes less than we assumed (its max.message.bytes is lower): halve the
        // request; a single record that is still too large goes as a stub.
        if (messages.length > 1) {
          const half = Math.ceil(messages.length / 2);
          await send(source, messages.slice(0, half), rejected);
          await send(source, messages.slice(half), rejected);
          return;
        }
        const one = messages[0]!;
        const original = one.headers?.[DLQ_HEADERS.truncated] === undefined ? rejected.find((r) => r.message.offset === one.headers?.[DLQ_HEADERS.offset]) : undefined;
        if (original) return send(source, [stub(source, original)], rejected);
      }
      const detail = err instanceof Error ? err.message : String(err);
      throw new DeadLetterUnwritableError(`the dead-letter topic ${options.topic} cannot be written: ${detail}`, { cause: err });
    }
  }

  return {
    stats,
    async write(source, rejected) {
      if (rejected.length === 0) return;
      let request: Message[] = [];
      let bytes = 0;
      for (const r of rejected) {
        let m = copy(source, r);
        if (recordBytes(m) > maxRecordBytes) m = stub(source, r);
        const size = recordBytes(m);
        if (request.length > 0 && bytes + size > maxRequestBytes) {
          await send(source, request, rejected);
          request = [];
          bytes = 0;
        }
        request.push(m);
        bytes += size;
      }
      await send(source, request, rejected);
      stats.deadLettered += rejected.length;
      for (const { message, reason } of rejected) {
        options.logger.warn({ partition: source.partition, offset: message.offset, reason }, 'record dead-lettered');
      }
    },
  };
}

/** The bytes a record takes in a produce request, near enough: key, value, headers, framing. */
function recordBytes(m: Message): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(m.key) + byteLength(m.value);
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    bytes += Buffer.byteLength(name) + 8;
    for (const v of Array.isArray(value) ? value : [value]) bytes += byteLength(v as Buffer | string | null | undefined);
  }
  return bytes;
}

function byteLength(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

function isTooLarge(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}
