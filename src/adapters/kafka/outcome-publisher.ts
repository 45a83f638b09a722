import type { RecordSender } from './producer.js';
import type { EventPublisher, TraceSpan, Tracing } from '../../app/ports.js';
import { noTracing } from '../../app/tracing.js';

type OutcomeRecord = Parameters<EventPublisher['publish']>[0][number];

/**
 * The publish span of one outcome event (docs/operations.md, "Tracing"), a child of the refund's
 * trace: the traceparent the outbox stored in the record's headers. Named as OpenTelemetry's
 * messaging conventions name a send: "send <topic>", kind producer.
 */
function publishSpan(tracing: Tracing, r: OutcomeRecord): TraceSpan {
  return tracing.span(`send ${r.topic}`, r.headers.traceparent, {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    'messaging.destination.name': r.topic,
    'messaging.kafka.message.key': r.key,
    'refund.id': r.key,
  }, 'producer');
}

/**
 * The record as published inside its span: a recorded span is the event's parent, in the Kafka
 * header and in the CloudEvents `traceparent` attribute alike. An unrecorded one (no exporter)
 * leaves the record exactly as stored, so without tracing a redelivery stays byte-identical.
 */
function tracedRecord(r: OutcomeRecord, span: TraceSpan): OutcomeRecord {
  const traceparent = span.traceparent();
  if (!span.recording || traceparent === undefined || traceparent === r.headers.traceparent) return r;
  let value = r.value;
  try {
    const event = JSON.parse(r.value) as Record<string, unknown>;
    span.set({ 'cloudevents.event_id': String(event.id), 'cloudevents.event_type': String(event.type), 'cloudevents.event_source': String(event.source) });
    value = JSON.stringify({ ...event, traceparent });
  } catch {
    // Not JSON (never written so by the outbox): published as stored, the header still traced.
  }
  return { ...r, value, headers: { ...r.headers, traceparent } };
}

/**
 * Outcome events to Kafka through the instance's idempotent producer (acks=all): `publish`
 * resolves only when the broker acknowledged every record, so the outbox marks entries sent only
 * then. Records of one call go out in one request, in order, per topic; each has its own span.
 */
export function createOutcomePublisher(producer: RecordSender, tracing: Tracing = noTracing): EventPublisher {
  return {
    async publish(records) {
      const spans = records.map((r) => publishSpan(tracing, r));
      const byTopic = new Map<string, Array<{ key: string; value: string; headers: Record<string, string> }>>();
      records.forEach((record, i) => {
        const r = tracedRecord(record, spans[i]!);
        const list = byTopic.get(r.topic) ?? [];
        list.push({ key: r.key, value: r.value, headers: r.headers });
        byTopic.set(r.topic, list);
      });
      try {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (err) {
        for (const span of spans) span.fail(err instanceof Error ? err.message : String(err));
        throw err;
      } finally {
        for (const span of spans) span.end();
      }
    },
  };
}
