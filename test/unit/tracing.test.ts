import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ProducerBatch } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { createOutcomePublisher } from '../../src/adapters/kafka/outcome-publisher.js';
import type { RecordSender } from '../../src/adapters/kafka/producer.js';
import { createTracing, type OtelTracing } from '../../src/adapters/tracing/otel.js';
import { tracingSettings } from '../../src/composition/settings.js';
import { parseTraceparent } from '../../src/domain/trace-context.js';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/domain/errors.js';
import { quietLogger } from '../support/fakes.js';

const repoConfig = join(import.meta.dirname, '../../config');
const settingsOf = (env: Record<string, string> = {}) => tracingSettings(loadConfig({ env: { CONFIG_DIR: repoConfig, ...env } }).values);
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env: { CONFIG_DIR: repoConfig, ...env } });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const STORED = `00-${TRACE_ID}-${PARENT_ID}-01`;

/** Keeps what was exported past the provider's shutdown (the SDK's in-memory exporter forgets it). */
function collectingExporter(): SpanExporter & { spans: ReadableSpan[] } {
  const spans: ReadableSpan[] = [];
  return {
    spans,
    export: (batch, done) => {
      spans.push(...batch);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
}

function recordingProducer(fail?: Error): RecordSender & { batches: ProducerBatch[] } {
  const batches: ProducerBatch[] = [];
  return {
    batches,
    send: async () => [],
    sendBatch: async (batch) => {
      batches.push(batch);
      if (fail) throw fail;
      return [];
    },
  };
}

const event = { specversion: '1.0', id: 'R-1:refund.completed', source: '/refund-notifier', type: 'refund.completed', subject: 'R-1', traceparent: STORED, data: { refundId: 'R-1' } };
const record = { topic: 'refunds.completed', key: 'R-1', value: JSON.stringify(event), headers: { 'content-type': 'application/cloudevents+json', traceparent: STORED } };

let tracing: OtelTracing | undefined;
afterEach(async () => {
  await tracing?.stop();
  tracing = undefined;
});

describe('tracing without an OTLP endpoint', () => {
  it('records nothing and loads nothing; the trace goes on, and log lines carry its id', async () => {
    tracing = createTracing({ serviceName: 'refund-notifier' }, quietLogger);
    expect(tracing.enabled).toBe(false);
    await tracing.start();
    const span = tracing.span('antom inquiryRefund', STORED, { 'refund.id': 'R-1' }, 'client');
    expect(span.recording).toBe(false);
    expect(span.logFields).toEqual({ trace_id: TRACE_ID });
    expect(span.traceparent()).toBe(STORED);
    span.fail('nothing happens');
    span.end();
    expect(tracing.span('x', undefined).logFields).toEqual({});
  });

  it('publishes each outcome record exactly as the outbox stored it', async () => {
    const producer = recordingProducer();
    await createOutcomePublisher(producer, createTracing({ serviceName: 'refund-notifier' }, quietLogger)).publish([record]);
    expect(producer.batches[0]!.topicMessages).toEqual([{ topic: 'refunds.completed', messages: [{ key: 'R-1', value: record.value, headers: record.headers }] }]);
  });
});

describe('tracing with an OTLP endpoint', () => {
  function enabled(exporter: SpanExporter): OtelTracing {
    tracing = createTracing({ tracesUrl: 'http://127.0.0.1:9/v1/traces', serviceName: 'refunds-test' }, quietLogger, { exporter });
    return tracing;
  }

  it('a span is a child of the refund\'s stored context and names itself as the next parent', async () => {
    const exporter = collectingExporter();
    const t = enabled(exporter);
    await t.start();
    const span = t.span('antom inquiryRefund', STORED, { 'refund.id': 'R-1', absent: undefined }, 'client');
    expect(span.recording).toBe(true);
    const { trace_id, span_id } = span.logFields;
    expect(trace_id).toBe(TRACE_ID);
    expect(span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(span_id).not.toBe(PARENT_ID);
    expect(span.traceparent()).toBe(`00-${TRACE_ID}-${span_id}-01`);
    span.set({ 'antom.classification': 'pending' });
    span.fail('timeout after 10000 ms');
    span.end();
    await t.stop();

    const [exported] = exporter.spans;
    expect(exporter.spans).toHaveLength(1);
    expect(exported!.name).toBe('antom inquiryRefund');
    expect(exported!.kind).toBe(SpanKind.CLIENT);
    expect(exported!.spanContext()).toMatchObject({ traceId: TRACE_ID, spanId: span_id });
    expect(exported!.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_ID, isRemote: true });
    expect(exported!.attributes).toEqual({ 'refund.id': 'R-1', 'antom.classification': 'pending' });
    expect(exported!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'timeout after 10000 ms' });
    expect(exported!.resource.attributes['service.name']).toBe('refunds-test');
  });

  it('a refund tracked before tracing (no stored context) gets a root span', async () => {
    const t = enabled(collectingExporter());
    await t.start();
    const span = t.span('send refunds.completed', undefined);
    expect(span.recording).toBe(true);
    expect(parseTraceparent(span.traceparent()!).ok).toBe(true);
  });

  it('a context marked not sampled stays unsampled: nothing recorded, the record untouched', async () => {
    const exporter = collectingExporter();
    const t = enabled(exporter);
    await t.start();
    const unsampled = STORED.replace(/-01$/, '-00');
    const producer = recordingProducer();
    const stored = { ...record, headers: { ...record.headers, traceparent: unsampled } };
    await createOutcomePublisher(producer, t).publish([stored]);
    await t.stop();
    expect(producer.batches[0]!.topicMessages![0]!.messages[0]).toEqual({ key: 'R-1', value: stored.value, headers: stored.headers });
    expect(exporter.spans).toEqual([]);
  });

  it('a published event names its publish span as parent, in the CloudEvents attribute and the Kafka header', async () => {
    const exporter = collectingExporter();
    const t = enabled(exporter);
    await t.start();
    const producer = recordingProducer();
    await createOutcomePublisher(producer, t).publish([record]);
    await t.stop();

    const [span] = exporter.spans;
    expect(span!.name).toBe('send refunds.completed');
    expect(span!.kind).toBe(SpanKind.PRODUCER);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span!.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.destination.name': 'refunds.completed', 'cloudevents.event_id': 'R-1:refund.completed' });
    const expected = `00-${TRACE_ID}-${span!.spanContext().spanId}-01`;
    const sent = producer.batches[0]!.topicMessages![0]!.messages[0]!;
    expect(sent.headers).toEqual({ 'content-type': 'application/cloudevents+json', traceparent: expected });
    // The event is otherwise what was stored, its attribute where it was.
    expect(JSON.parse(String(sent.value))).toEqual({ ...event, traceparent: expected });
    expect(Object.keys(JSON.parse(String(sent.value)))).toEqual(Object.keys(event));
  });

  it('a publish the broker refused ends its spans with an error', async () => {
    const exporter = collectingExporter();
    const t = enabled(exporter);
    await t.start();
    await expect(createOutcomePublisher(recordingProducer(new Error('broker down')), t).publish([record, { ...record, key: 'R-2' }])).rejects.toThrow('broker down');
    await t.stop();
    expect(exporter.spans.map((s) => s.status)).toEqual([
      { code: SpanStatusCode.ERROR, message: 'broker down' },
      { code: SpanStatusCode.ERROR, message: 'broker down' },
    ]);
  });
});

describe('the tracing settings', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT is a base (/v1/traces is added), the traces endpoint is used as given and wins', () => {
    expect(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({ tracesUrl: 'http://collector:4318/v1/traces', serviceName: 'refund-notifier' });
    expect(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/otlp/traces', OTEL_SERVICE_NAME: 'rn-eu' })).toEqual({
      tracesUrl: 'https://b/otlp/traces',
      serviceName: 'rn-eu',
    });
    expect(settingsOf()).toEqual({ tracesUrl: undefined, serviceName: 'refund-notifier' });
  });

  it('a bad endpoint stops the start with a message naming the setting', () => {
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got protocol "collector:"']);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' })).toEqual(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) URL, got "not a url"']);
  });
});
