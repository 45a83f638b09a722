import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { parseRefundRecord, parseRefundRecords } from '../../src/adapters/kafka/decode-record.js';
import { recordTrace } from '../../src/adapters/kafka/record-trace.js';
import { createTraceStarter } from '../../src/adapters/tracing/trace-ids.js';
import { outboxTraceLogFields, traceLogFields } from '../../src/app/tracing.js';
import { formatTraceparent, parseTraceparent, parseTracestate, startedTraceparent, traceIdOf } from '../../src/domain/trace-context.js';
import { binaryHeaders, ce, consumedAt, good, json, origin } from '../support/refund-records.js';

// The examples of W3C Trace Context §3.2 and the CloudEvents distributed-tracing extension.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const W3C = `00-${TRACE_ID}-${PARENT_ID}-01`;
const OTHER = '00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01';
const STARTED = '00-11111111111111111111111111111111-2222222222222222-01';
const startTrace = () => STARTED;

describe('traceparent (W3C Trace Context, version 00)', () => {
  it('parses a valid one into its parts and formats it back unchanged', () => {
    const parsed = parseTraceparent(W3C);
    expect(parsed).toEqual({ ok: true, value: { traceId: TRACE_ID, parentId: PARENT_ID, flags: '01' } });
    if (parsed.ok) expect(formatTraceparent(parsed.value)).toBe(W3C);
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`).ok).toBe(true);
  });

  it('allows the spaces and tabs HTTP allows around a header value', () => {
    expect(parseTraceparent(` \t${W3C} `)).toMatchObject({ ok: true, value: { traceId: TRACE_ID } });
  });

  it.each([
    ['another version', `01-${TRACE_ID}-${PARENT_ID}-01`, /is not 00-/],
    ['the forbidden version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`, /is not 00-/],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, /in lower case/],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`, /all-zero trace id/],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`, /all-zero parent id/],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`, /is not 00-/],
    ['a long parent id', `00-${TRACE_ID}-${PARENT_ID}0-01`, /is not 00-/],
    ['one-digit flags', `00-${TRACE_ID}-${PARENT_ID}-1`, /is not 00-/],
    ['a trailing field', `${W3C}-00`, /is not 00-/],
    ['non-hex digits', `00-${TRACE_ID.slice(0, 31)}g-${PARENT_ID}-01`, /is not 00-/],
    ['nothing', '', /is not 00-/],
  ])('refuses %s, saying why', (_what, text, reason) => {
    const parsed = parseTraceparent(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('quotes and shortens a hostile value in its reason', () => {
    const parsed = parseTraceparent(`x\n${'y'.repeat(5000)}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.reason.length).toBeLessThan(200);
      expect(parsed.reason).not.toContain('\n');
    }
  });

  it('a started trace is sampled, from 48 random hex digits; all-zero halves are refused', () => {
    expect(startedTraceparent(`${TRACE_ID}${PARENT_ID}`)).toBe(W3C);
    expect(startedTraceparent(`${'0'.repeat(32)}${PARENT_ID}`)).toBeUndefined();
    expect(startedTraceparent(`${TRACE_ID}${'0'.repeat(16)}`)).toBeUndefined();
  });

  it('the trace id of a stored traceparent, and the log field it makes', () => {
    expect(traceIdOf(W3C)).toBe(TRACE_ID);
    expect(traceIdOf(undefined)).toBeUndefined();
    expect(traceLogFields(W3C)).toEqual({ trace_id: TRACE_ID });
    expect(traceLogFields(undefined)).toEqual({});
  });
});

describe('tracestate', () => {
  it('keeps a valid list, without the spaces around its members', () => {
    expect(parseTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7')).toEqual({ ok: true, value: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
    expect(parseTracestate('fw529a3039@dt=ZmZm,,a=1 ')).toEqual({ ok: true, value: 'fw529a3039@dt=ZmZm,a=1' });
  });

  it.each([
    ['a member without a value', 'congo', /list-member "congo"/],
    ['an upper-case key', 'Congo=1', /list-member/],
    ['a value with an equals sign', 'congo=a=b', /list-member/],
    ['more than 32 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), /more than 32/],
    ['more than 512 characters', `a=${'x'.repeat(520)}`, /longer than 512/],
  ])('refuses %s', (_what, text, reason) => {
    const parsed = parseTracestate(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe('the trace context of an initiating record', () => {
  it('none: a new trace, nothing ignored', () => {
    expect(recordTrace({}, undefined, startTrace)).toEqual({ traceparent: STARTED });
    expect(recordTrace(undefined, { id: 'e' } as never, startTrace)).toEqual({ traceparent: STARTED });
  });

  it('the Kafka header, with its tracestate (repeated tracestate headers are one list)', () => {
    expect(recordTrace({ traceparent: Buffer.from(W3C), tracestate: [Buffer.from('a=1'), Buffer.from('b=2')] }, undefined, startTrace)).toEqual({
      traceparent: W3C,
      tracestate: 'a=1,b=2',
    });
  });

  it('the header wins over the CloudEvents extension; the extension when there is no header', () => {
    expect(recordTrace({ traceparent: W3C }, { traceparent: OTHER, tracestate: 'x=1' }, startTrace)).toEqual({ traceparent: W3C });
    expect(recordTrace({}, { traceparent: OTHER, tracestate: 'x=1' }, startTrace)).toEqual({ traceparent: OTHER, tracestate: 'x=1' });
  });

  it('an invalid header falls back to a valid extension, saying what was ignored', () => {
    const trace = recordTrace({ traceparent: 'garbage' }, { traceparent: OTHER }, startTrace);
    expect(trace.traceparent).toBe(OTHER);
    expect(trace.ignored).toEqual([expect.stringMatching(/^Kafka header traceparent "garbage" is not 00-/)]);
  });

  it('nothing valid: a new trace, with every reason', () => {
    const trace = recordTrace({ traceparent: [W3C, OTHER] }, { traceparent: 42 }, startTrace);
    expect(trace.traceparent).toBe(STARTED);
    expect(trace.ignored).toEqual(['Kafka header traceparent appears more than once', 'CloudEvents traceparent is not a string']);
  });

  it('an invalid tracestate is dropped; its traceparent is kept', () => {
    const trace = recordTrace({ traceparent: W3C, tracestate: 'NOT VALID' }, undefined, startTrace);
    expect(trace).toEqual({ traceparent: W3C, ignored: [expect.stringMatching(/tracestate list-member .*; the traceparent is kept/)] });
  });

  it('new traces are random, valid, sampled and distinct', () => {
    const start = createTraceStarter();
    // More than one pool of random bytes (170 traces), so a refill is exercised.
    const started = Array.from({ length: 1000 }, () => start());
    for (const t of started) expect(parseTraceparent(t)).toMatchObject({ ok: true, value: { flags: '01' } });
    expect(new Set(started.map(traceIdOf)).size).toBe(1000);
    expect(new Set(started.map((t) => t.slice(36, 52))).size).toBe(1000);
  });
});

describe('the ingest keeps the trace context in the refund origin', () => {
  const where = { topic: origin.topic, partition: origin.partition, antomApi: 'v2' as const };
  const parse = (value: Buffer, headers?: Record<string, string>) =>
    parseRefundRecord({ value, headers, timestamp: String(consumedAt - 5000), offset: origin.offset }, where, consumedAt, startTrace);

  it('from a Kafka header, from a structured-mode attribute, from a binary-mode ce_traceparent', () => {
    expect(parse(json(good), { traceparent: W3C, tracestate: 'rojo=1' })).toMatchObject({ ok: true, refund: { origin: { ...origin, traceparent: W3C, tracestate: 'rojo=1' } } });
    expect(parse(ce(good, { traceparent: OTHER }))).toMatchObject({ ok: true, refund: { origin: { eventId: 'e-1', traceparent: OTHER } } });
    expect(parse(json(good), binaryHeaders({ ce_traceparent: OTHER, ce_tracestate: 'a=b' }) as Record<string, string>)).toMatchObject({
      ok: true,
      refund: { origin: { eventId: 'e-2', traceparent: OTHER, tracestate: 'a=b' } },
    });
  });

  it('a record without one gets a new trace; one with an invalid one too, and is tracked all the same', () => {
    const none = parse(json(good));
    expect(none.ok && none.refund.origin.traceparent).toBe(STARTED);
    expect(none.ok && 'traceIgnored' in none).toBe(false);
    const invalid = parse(json(good), { traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` });
    expect(invalid).toMatchObject({ ok: true, refund: { origin: { traceparent: STARTED } }, traceIgnored: [expect.stringMatching(/all-zero trace id/)] });
  });

  it('a bad record is dead-lettered for its data, never for its trace context', () => {
    expect(parse(json({ ...good, paymentId: undefined }), { traceparent: 'garbage' })).toEqual({ ok: false, reason: 'paymentId is required' });
  });

  it('a chunk reports which records had their trace context ignored', () => {
    const messages = [
      { value: json(good), headers: { traceparent: 'garbage' }, offset: '1' },
      { value: json({ ...good, refundId: 'R-2' }), headers: { traceparent: W3C }, offset: '2' },
    ].map((m) => ({ ...m, key: null, timestamp: String(consumedAt), attributes: 0 }) as KafkaMessage);
    const { good: tracked, traceIgnored } = parseRefundRecords(messages, where, consumedAt, startTrace);
    expect(tracked.map((r) => r.origin.traceparent)).toEqual([STARTED, W3C]);
    expect(traceIgnored).toEqual([{ offset: '1', traceparent: STARTED, reasons: [expect.stringMatching(/"garbage"/)] }]);
  });
});

describe('the trace of an outbox entry, for its log lines', () => {
  it('is found at the top of an event or a notice, in the subject of a delivery, nowhere in a message', () => {
    expect(outboxTraceLogFields({ specversion: '1.0', traceparent: W3C })).toEqual({ trace_id: TRACE_ID });
    expect(outboxTraceLogFields({ delivery: {}, subject: { refundKey: 'R-1', traceparent: W3C } })).toEqual({ trace_id: TRACE_ID });
    expect(outboxTraceLogFields({ message: { title: 'outage' }, receiver: { type: 'slack' } })).toEqual({});
    expect(outboxTraceLogFields(null)).toEqual({});
    expect(outboxTraceLogFields({ traceparent: 42, subject: { traceparent: W3C } })).toEqual({ trace_id: TRACE_ID });
  });
});
