import { describe, expect, it } from 'vitest';
import type { IHeaders } from 'kafkajs';
import { parseRefundRecord } from '../../src/adapters/kafka/decode-record.js';
import type { ValidationContext } from '../../src/domain/refund-initiated.js';
import { badRecords, binaryHeaders, ce, good, json, origin, v1, v2 } from '../support/refund-records.js';

/** Decode then validate, as the consumer does; returns the reason or the refund. */
function ingest(value: Buffer | null, headers?: IHeaders, ctx: ValidationContext = v2) {
  return parseRefundRecord(
    { value, headers, timestamp: ctx.recordTimestamp, offset: ctx.origin.offset },
    { topic: ctx.origin.topic, partition: ctx.origin.partition, antomApi: ctx.antomApi },
    ctx.consumedAt,
  );
}

describe('accepted shapes', () => {
  it('plain JSON', () => {
    const r = ingest(json(good));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.refund).toMatchObject({
      id: 'R-2026-0001',
      refundId: 'R-2026-0001',
      paymentId: 'P-1',
      refundAmount: { currency: 'USD', value: '1250' },
      initiatedAt: '2026-11-25T10:00:00.000Z',
      origin,
    });
  });

  it('an integer amount value is kept as a string of minor units', () => {
    const r = ingest(json({ ...good, refundAmount: { currency: 'JPY', value: 500 } }));
    expect(r.ok && r.refund.refundAmount).toEqual({ currency: 'JPY', value: '500' });
  });

  it('CloudEvents structured mode, with the event id recorded as origin', () => {
    const r = ingest(ce(good), { 'content-type': 'application/cloudevents+json; charset=utf-8' });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.refund.origin).toMatchObject({ eventId: 'e-1', eventSource: '/payments' });
  });

  it('CloudEvents structured mode recognised by specversion alone', () => {
    expect(ingest(ce(good)).ok).toBe(true);
  });

  it('CloudEvents structured mode with data_base64', () => {
    const value = json({
      specversion: '1.0',
      id: 'e-3',
      source: '/p',
      type: 't',
      data_base64: Buffer.from(JSON.stringify(good)).toString('base64'),
    });
    expect(ingest(value).ok).toBe(true);
  });

  it('CloudEvents binary mode', () => {
    const r = ingest(json(good), binaryHeaders());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.refund.origin.eventId).toBe('e-2');
  });

  it('v1 accepts a refundRequestId alone and tracks it under a request key', () => {
    const { refundId: _omit, ...withoutRefundId } = good;
    const r = ingest(json(withoutRefundId), undefined, v1);
    expect(r.ok && r.refund.id).toBe('request:RQ-1');
  });

  it('initiatedAt given by the producer wins over the record timestamp', () => {
    const r = ingest(json({ ...good, initiatedAt: '2026-11-24T08:00:00+08:00' }));
    expect(r.ok && r.refund.initiatedAt).toBe('2026-11-24T08:00:00+08:00');
  });

  it('unknown fields are ignored (producers may add fields)', () => {
    expect(ingest(json({ ...good, somethingNew: { a: 1 } })).ok).toBe(true);
  });
});

describe('rejected records and their reasons', () => {
  it.each(badRecords)('%s', (_name, value, headers, reason, ctx) => {
    const r = ingest(value, headers, ctx ?? v2);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('reports every problem of a record at once', () => {
    const r = ingest(json({ refundId: 7, paymentId: 'P'.repeat(70), refundAmount: { currency: 'usd', value: 'x' } }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(/refundId must be a string/);
      expect(r.reason).toMatch(/paymentId is longer than 64/);
      expect(r.reason).toMatch(/ISO 4217/);
    }
  });
});

describe('metadata size in UTF-8 bytes', () => {
  it('counts multi-byte characters, not UTF-16 units', async () => {
    const { fitsUtf8 } = await import('../../src/domain/refund-initiated.js');
    expect(fitsUtf8('a'.repeat(4096), 4096)).toBe(true);
    expect(fitsUtf8('a'.repeat(4097), 4096)).toBe(false);
    expect(fitsUtf8('é'.repeat(2048), 4096)).toBe(true); // 2 bytes each
    expect(fitsUtf8('é'.repeat(2049), 4096)).toBe(false);
    expect(fitsUtf8('€'.repeat(1365), 4096)).toBe(true); // 3 bytes each
    expect(fitsUtf8('€'.repeat(1366), 4096)).toBe(false);
    expect(fitsUtf8('😀'.repeat(1024), 4096)).toBe(true); // 4 bytes, 2 units each
    expect(fitsUtf8('😀'.repeat(1025), 4096)).toBe(false);
  });
});
