/**
 * The spans of a refund's work, in milliseconds (docs/operations.md, "Tracing"): the use cases
 * start an inquiry span per Antom call and a send span per delivery, each a child of the refund's
 * stored trace context, and the outbox keeps that context with the outcome event. The OpenTelemetry
 * side of it is test/unit/tracing.test.ts; the whole path, test/integration/tracing.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SpanAttributes, TraceSpan, Tracing } from '../../../src/app/ports.js';
import { traceLogFields } from '../../../src/app/tracing.js';
import { newRefund } from '../../contract/refund-store.contract.js';
import { createTestApp, createTestPollLoop, inquiryAnswer, refundKey, type TestApp } from '../../support/app-fixtures.js';
import { createScriptedInquirer } from '../../support/fakes.js';
import { until } from '../../support/until.js';

const STORED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const fast = { intervalMs: 1, timeoutMs: 5_000 };

interface RecordedSpan {
  name: string;
  parent: string | undefined;
  kind: string | undefined;
  attributes: Record<string, unknown>;
  failed?: string;
  ended: number;
}

function recordingTracing(): Tracing & { spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  return {
    spans,
    span(name, parent, attributes: SpanAttributes = {}, kind) {
      const recorded: RecordedSpan = { name, parent, kind, attributes: { ...attributes }, ended: 0 };
      spans.push(recorded);
      const span: TraceSpan = {
        recording: true,
        logFields: { ...traceLogFields(parent), span_id: String(spans.length).padStart(16, '0') },
        set: (more) => Object.assign(recorded.attributes, more),
        fail: (message) => {
          recorded.failed = message;
        },
        end: () => {
          recorded.ended += 1;
        },
        traceparent: () => parent,
      };
      return span;
    },
  };
}

describe('spans of a refund, children of its stored trace context', () => {
  let app: TestApp;
  afterEach(async () => app?.close());

  async function tracked(tracing: Tracing) {
    app = await createTestApp({ tracing });
    await app.track(newRefund(1, { origin: { topic: 'refunds.initiated', partition: 0, offset: '1', traceparent: STORED, tracestate: 'rojo=1' } }));
    const antom = createScriptedInquirer();
    const loop = createTestPollLoop(app, antom, { tracing });
    loop.start();
    await until(() => antom.asked.length === 1, { ...fast, message: 'the inquiry is in flight' });
    return { antom, loop };
  }

  it('an inquiry that told nothing: its span is an error, with the classification', async () => {
    const tracing = recordingTracing();
    const { antom, loop } = await tracked(tracing);
    antom.answer(refundKey(1), { kind: 'transport-error', api: 'v2', error: 'timeout', message: 'no answer within 10000 ms' });
    await until(() => loop.stats.applied === 1, fast);
    await loop.stop();
    expect(tracing.spans).toEqual([
      {
        name: 'antom inquiryRefund',
        parent: STORED,
        kind: 'client',
        attributes: { 'refund.id': refundKey(1), 'antom.api': 'v2', 'antom.outcome': 'transport-error', 'antom.classification': 'retry', 'http.response.status_code': undefined },
        failed: 'no answer within 10000 ms',
        ended: 1,
      },
    ]);
  });

  it('an inquiry that completed the refund; its event keeps the trace, and each delivery has a send span', async () => {
    const tracing = recordingTracing();
    const { antom, loop } = await tracked(tracing);
    const refund = (await app.store.getRefund(refundKey(1)))!;
    antom.answer(refundKey(1), inquiryAnswer(refund, 'SUCCESS', app.clock.now()));
    await until(() => loop.stats.applied === 1, fast);
    await loop.stop();
    expect(tracing.spans[0]).toMatchObject({ name: 'antom inquiryRefund', parent: STORED, attributes: { 'antom.classification': 'completed', 'http.response.status_code': 200 }, ended: 1 });
    expect(tracing.spans[0]!.failed).toBeUndefined();

    // The outbox keeps the refund's context with the event: the publisher parents its span on it.
    const [event] = await app.outbox({ kind: 'event' });
    expect(event!.payload).toMatchObject({ headers: { traceparent: STORED, tracestate: 'rojo=1' } });
    expect(JSON.parse((event!.payload as { value: string }).value)).toMatchObject({ traceparent: STORED, tracestate: 'rojo=1' });

    app.slack.failNext(1, 'retriable');
    await app.dispatcher.dispatchOnce();
    expect(app.publisher.records[0]!.headers.traceparent).toBe(STORED);
    const sends = tracing.spans.filter((s) => s.name.startsWith('notify '));
    expect(sends.map((s) => [s.name, s.parent, s.kind, s.attributes['notify.template'], s.ended])).toEqual(
      expect.arrayContaining([
        ['notify customer-email', STORED, 'client', 'customer-completed', 1],
        ['notify slack', STORED, 'client', 'ops-line', 1],
      ]),
    );
    expect(sends.find((s) => s.name === 'notify slack')!.failed).toBeTruthy();
    expect(sends.find((s) => s.name === 'notify customer-email')!.failed).toBeUndefined();
    expect(sends.every((s) => s.attributes['refund.id'] === refundKey(1))).toBe(true);
  });
});
