import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService, type Service } from '../../src/main.js';
import { parseTraceparent, traceIdOf } from '../../src/domain/trace-context.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import { collectMessages, until, type CollectedMessage, type MessageCollector } from '../support/kafka.js';
import { startOtlpCollector, type CollectedSpan, type OtlpCollector } from '../support/otlp-collector.js';
import { configFrom, createServiceTopics, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';
import { startSlackStub, type SlackStub } from '../support/slack-stub.js';
import { captureLogs } from './notify/log-capture.js';

/**
 * Traces across the mesh (docs/operations.md, "Tracing"), end to end: records with and without a
 * W3C traceparent go in through a real Kafka broker, the Antom sandbox answers, and the outcome
 * events that come out carry the trace, as do the service's log lines. Then the same with an OTLP
 * collector, which must receive the inquiry, publish and send spans in the refund's trace.
 */

// The example of W3C Trace Context §3.2: what an instrumented producer upstream would send.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const UPSTREAM = `00-${TRACE_ID}-${PARENT_ID}-01`;
const CE_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CE_UPSTREAM = `00-${CE_TRACE_ID}-b9c7c989f97918e1-01`;

interface LogLine {
  level: number;
  msg: string;
  refund?: string;
  refundId?: string;
  trace_id?: string;
  span_id?: string;
  [key: string]: unknown;
}

const linesOf = (text: string): LogLine[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogLine);
/** The log lines about one refund: those that name it. */
const about = (lines: LogLine[], id: string) => lines.filter((l) => l.refund === id || l.refundId === id);

async function startTraced(env: Record<string, string>, logger: ReturnType<typeof captureLogs>['logger']) {
  const config = configFrom(env);
  await createServiceTopics(config, 1);
  const service = createService(config, { logger });
  await service.start();
  const outcomes = await collectMessages(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_COMPLETED);
  return { config, service, outcomes };
}

function serviceEnv(prefix: string, sandbox: AntomSandbox, over: Record<string, string> = {}): Record<string, string> {
  return isolatedEnv(prefix, { ...sandbox.serviceEnv('v2'), POLL_FIRST_DELAY: '100ms', POLL_MAX_INTERVAL: '5s', ANTOM_TIMEOUT: '2s', ANTOM_RATE_LIMIT: '200', ...over });
}

const outcomeOf = (outcomes: MessageCollector, id: string): CollectedMessage | undefined => outcomes.messages.find((m) => m.key === id);

describe('traces across the mesh, without an OTLP endpoint (Kafka + Antom sandbox)', () => {
  let sandbox: AntomSandbox;
  let service: Service;
  let outcomes: MessageCollector;
  const logs = captureLogs('debug');
  const ids = ['TR-HEADER', 'TR-NONE', 'TR-INVALID', 'TR-CLOUDEVENT'];

  beforeAll(async () => {
    sandbox = await testSandbox();
    sandbox.createRefunds(ids.map((id) => ({ refundId: id, refundRequestId: `RQ-${id}`, paymentId: `P-${id}`, notify: false })));
    const env = serviceEnv('traces', sandbox);
    ({ service, outcomes } = await startTraced(env, logs.logger));
    const record = (i: number, id: string) => refundRecord(i, { refundId: id, refundRequestId: `RQ-${id}`, paymentId: `P-${id}` });
    const cloudEvent = record(3, 'TR-CLOUDEVENT');
    await produce(env.KAFKA_BROKERS!, configFrom(env).values.TOPIC_REFUND_INITIATED, [
      { ...record(0, 'TR-HEADER'), headers: { traceparent: UPSTREAM, tracestate: 'rojo=00f067aa0ba902b7' } },
      record(1, 'TR-NONE'),
      // All-zero trace id: invalid, ignored, and the record tracked all the same.
      { ...record(2, 'TR-INVALID'), headers: { traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` } },
      {
        key: cloudEvent.key,
        value: JSON.stringify({ specversion: '1.0', id: 'ce-1', source: '/payments', type: 'refund.initiated', traceparent: CE_UPSTREAM, data: JSON.parse(String(cloudEvent.value)) }),
        headers: { 'content-type': 'application/cloudevents+json' },
      },
    ]);
    await until(() => ids.every((id) => outcomeOf(outcomes, id)), { timeoutMs: 30_000, message: `outcome events for ${ids.join(', ')}` });
  });

  afterAll(async () => {
    await outcomes?.stop();
    await service?.stop();
    await sandbox?.close();
  });

  /** The outcome's traceparent, the same in the CloudEvents attribute and the Kafka header. */
  function outcomeTrace(id: string) {
    const message = outcomeOf(outcomes, id)!;
    const event = JSON.parse(message.value!) as { traceparent?: string; tracestate?: string };
    expect(message.headers.traceparent, `${id}: the header and the attribute agree`).toBe(event.traceparent);
    const parsed = parseTraceparent(event.traceparent ?? '');
    expect(parsed.ok, `${id}: ${event.traceparent} is a valid traceparent`).toBe(true);
    return { traceparent: event.traceparent!, tracestate: event.tracestate, headerTracestate: message.headers.tracestate, ...(parsed.ok ? parsed.value : { traceId: '', parentId: '', flags: '' }) };
  }

  it('a record with a traceparent header: its outcome event continues the same trace', () => {
    const trace = outcomeTrace('TR-HEADER');
    expect(trace.traceId).toBe(TRACE_ID);
    // No span is recorded without an endpoint: the upstream span stays the parent, unchanged.
    expect(trace.traceparent).toBe(UPSTREAM);
    expect(trace.tracestate).toBe('rojo=00f067aa0ba902b7');
    expect(trace.headerTracestate).toBe('rojo=00f067aa0ba902b7');
  });

  it('a structured CloudEvent: its distributed-tracing extension is carried the same way', () => {
    expect(outcomeTrace('TR-CLOUDEVENT').traceparent).toBe(CE_UPSTREAM);
  });

  it('a record without one, or with an invalid one, is tracked under a fresh trace that its outcome carries', async () => {
    const none = outcomeTrace('TR-NONE');
    const invalid = outcomeTrace('TR-INVALID');
    for (const trace of [none, invalid]) {
      expect([TRACE_ID, CE_TRACE_ID, '0'.repeat(32)]).not.toContain(trace.traceId);
      expect(trace.flags).toBe('01');
    }
    expect(none.traceId).not.toBe(invalid.traceId);
    // Recorded with the refund, so whichever instance polls it later continues that trace.
    expect((await service.store.getRefund('TR-NONE'))?.origin.traceparent).toBe(none.traceparent);
    expect(await service.store.getRefund('TR-INVALID')).toMatchObject({ status: 'completed', origin: { traceparent: invalid.traceparent } });
    // Ignored with a debug line that says why, under the new trace; never dead-lettered.
    const ignored = linesOf(logs.text()).filter((l) => l.msg === 'trace context of the record ignored');
    expect(ignored.length).toBeGreaterThanOrEqual(1);
    for (const line of ignored) expect(line).toMatchObject({ level: 20, trace_id: invalid.traceId, reason: expect.stringMatching(/all-zero trace id/) });
    expect(service.ingest.stats.deadLettered).toBe(0);
  });

  it('every log line about a refund carries its trace id (no span id: none is recorded)', () => {
    const lines = linesOf(logs.text());
    for (const id of ids) {
      const expected = traceIdOf(outcomeTrace(id).traceparent);
      const mine = about(lines, id);
      // At least the inquiry (info) and the Antom client's answer (debug).
      expect(mine.map((l) => l.msg), id).toEqual(expect.arrayContaining(['inquiry', 'inquiryRefund answered']));
      for (const line of mine) {
        expect(line.trace_id, `${id}: ${line.msg}`).toBe(expected);
        expect(line.span_id, `${id}: ${line.msg}`).toBeUndefined();
      }
    }
  });
});

describe('traces across the mesh, exported to an OTLP collector', () => {
  let sandbox: AntomSandbox;
  let slack: SlackStub;
  let collector: OtlpCollector;
  let service: Service;
  let outcomes: MessageCollector;
  let topic: string;
  const logs = captureLogs('debug');

  beforeAll(async () => {
    sandbox = await testSandbox();
    slack = await startSlackStub({ token: 'xoxb-traces' });
    collector = await startOtlpCollector();
    sandbox.createRefunds(['TO-HEADER', 'TO-NONE'].map((id) => ({ refundId: id, refundRequestId: `RQ-${id}`, paymentId: `P-${id}`, notify: false })));
    const env = serviceEnv('traces-otlp', sandbox, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_SERVICE_NAME: 'refund-notifier-test',
      SLACK_BOT_TOKEN: 'xoxb-traces',
      SLACK_API_URL: slack.url,
    });
    let config;
    ({ service, outcomes, config } = await startTraced(env, logs.logger));
    topic = config.values.TOPIC_REFUND_COMPLETED;
    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, [
      { ...refundRecord(0, { refundId: 'TO-HEADER', refundRequestId: 'RQ-TO-HEADER', paymentId: 'P-TO-HEADER' }), headers: { traceparent: UPSTREAM } },
      refundRecord(1, { refundId: 'TO-NONE', refundRequestId: 'RQ-TO-NONE', paymentId: 'P-TO-NONE' }),
    ]);
    await until(() => outcomeOf(outcomes, 'TO-HEADER') && outcomeOf(outcomes, 'TO-NONE'), { timeoutMs: 30_000, message: 'both outcome events' });
  });

  afterAll(async () => {
    await outcomes?.stop();
    await service?.stop();
    await collector?.close();
    await slack?.close();
    await sandbox?.close();
  });

  const spansOf = (traceId: string, name: string) => collector.spans.filter((s) => s.traceId === traceId && s.name === name);

  it('receives the inquiry, publish and send spans of a refund, children of the record\'s span, in its trace', async () => {
    // The batch processor exports every 5 s.
    await until(() => spansOf(TRACE_ID, `send ${topic}`).length > 0 && spansOf(TRACE_ID, 'notify slack').length > 0, {
      timeoutMs: 20_000,
      message: 'publish and send spans at the collector',
    });
    expect(collector.requests.every((r) => r.path === '/v1/traces' && r.contentType === 'application/json')).toBe(true);
    const inquiries = spansOf(TRACE_ID, 'antom inquiryRefund');
    expect(inquiries.length).toBeGreaterThanOrEqual(1);
    const [inquiry] = inquiries as [CollectedSpan];
    expect(inquiry).toMatchObject({
      service: 'refund-notifier-test',
      parentSpanId: PARENT_ID,
      kind: 3,
      attributes: { 'refund.id': 'TO-HEADER', 'antom.api': 'v2', 'antom.classification': 'completed', 'antom.outcome': 'answer' },
    });
    const [publish] = spansOf(TRACE_ID, `send ${topic}`) as [CollectedSpan];
    expect(publish).toMatchObject({ parentSpanId: PARENT_ID, kind: 4, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'cloudevents.event_id': 'TO-HEADER:refund.completed' } });
    const [send] = spansOf(TRACE_ID, 'notify slack') as [CollectedSpan];
    expect(send).toMatchObject({ parentSpanId: PARENT_ID, kind: 3, attributes: { 'refund.id': 'TO-HEADER', 'notify.template': 'ops-line' } });

    // The event names its publish span as parent, in the attribute and the header alike.
    const message = outcomeOf(outcomes, 'TO-HEADER')!;
    const expected = `00-${TRACE_ID}-${publish.spanId}-01`;
    expect(JSON.parse(message.value!).traceparent).toBe(expected);
    expect(message.headers.traceparent).toBe(expected);

    // The inquiry's log line names its span.
    const inquiryLine = about(linesOf(logs.text()), 'TO-HEADER').find((l) => l.msg === 'inquiry');
    expect(inquiryLine?.trace_id).toBe(TRACE_ID);
    expect(inquiries.map((s) => s.spanId)).toContain(inquiryLine?.span_id);
  });

  it('a record without a traceparent: its spans share the fresh trace its outcome carries', async () => {
    const stored = (await service.store.getRefund('TO-NONE'))!.origin.traceparent!;
    const { traceId, parentId } = (parseTraceparent(stored) as { ok: true; value: { traceId: string; parentId: string } }).value;
    await until(() => spansOf(traceId, `send ${topic}`).length > 0, { timeoutMs: 20_000, message: 'the fresh trace at the collector' });
    for (const s of collector.spans.filter((x) => x.traceId === traceId)) expect(s.parentSpanId, s.name).toBe(parentId);
    const [publish] = spansOf(traceId, `send ${topic}`) as [CollectedSpan];
    expect(outcomeOf(outcomes, 'TO-NONE')!.headers.traceparent).toBe(`00-${traceId}-${publish.spanId}-01`);
  });
});
