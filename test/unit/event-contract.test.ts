import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderEventContract } from '../../scripts/event-contract.js';
import { decideDeadlines } from '../../src/domain/decide-deadlines.js';
import { decideAfterInquiry } from '../../src/domain/decide-inquiry.js';
import type { TrackedRefund } from '../../src/domain/refund.js';
import type { ScheduleSettings } from '../../src/domain/schedule.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const schedule: ScheduleSettings = {
  firstDelayMs: 5000,
  maxIntervalMs: 1_800_000,
  stalledAfterMs: 86_400_000,
  giveUpAfterMs: 30 * 86_400_000,
  notFoundGraceMs: 3_600_000,
  jitter: 0.2,
};
const refund: TrackedRefund = {
  id: 'R-1',
  refundId: 'R-1',
  refundRequestId: 'RQ-1',
  paymentId: 'P-1',
  refundAmount: { currency: 'JPY', value: '4800' },
  initiatedAt: '2026-11-25T10:00:00Z',
  metadata: { orderId: 'O-1' },
  origin: { topic: 't', partition: 0, offset: '0' },
  status: 'pending',
  escalated: false,
  inquiries: 2,
  consecutiveErrors: 0,
  nextPollAt: 1,
  recordedAt: Date.parse('2026-11-25T10:00:00Z'),
  updatedAt: 0,
  version: 3,
};
const ctx = { now: Date.parse('2026-11-25T10:05:00Z'), schedule, random: () => 0.5 };

describe('the event contract documents', () => {
  it('schemas/ and docs/asyncapi.yaml are what the zod schemas generate (run `npx tsx scripts/event-contract.ts` after a change)', () => {
    for (const [path, content] of Object.entries(renderEventContract())) {
      expect(read(path), `${path} has drifted from src/domain`).toBe(content);
    }
  });

  it('the events the service builds validate against the published JSON Schemas', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const compiled = new Map<string, ReturnType<Ajv['compile']>>();
    const validate = (name: string, value: unknown) => {
      if (!compiled.has(name)) compiled.set(name, ajv.compile(JSON.parse(read(`schemas/${name}.schema.json`))));
      const check = compiled.get(name)!;
      const ok = check(value);
      return ok ? 'valid' : ajv.errorsText(check.errors);
    };
    const completed = decideAfterInquiry(refund, { kind: 'completed', refundStatus: 'SUCCESS', resultCode: 'SUCCESS', resultMessage: 'success', refundTime: '2026-11-25T10:04:00+08:00' }, ctx).events[0];
    const failed = decideAfterInquiry(refund, { kind: 'failed', reasonCode: 'RISK_REJECT', resultCode: 'DPOS_PAYMENT_RISK_REJECT', resultMessage: 'Rejected because of risk control', escalate: true }, ctx).events[0];
    const stalled = decideDeadlines(refund, { ...ctx, now: refund.recordedAt + 31 * 86_400_000 })!.events;
    expect(validate('refund-completed', completed)).toBe('valid');
    expect(validate('refund-failed', failed)).toBe('valid');
    for (const e of stalled) expect(validate('refund-stalled', e)).toBe('valid');
    // And as published: serialised, an absent optional field is no key at all (never null).
    for (const [name, e] of [['refund-completed', completed], ['refund-failed', failed], ...stalled.map((s) => ['refund-stalled', s] as const)] as const) {
      const published = JSON.stringify(e);
      expect(published).not.toContain('null');
      expect(validate(name, JSON.parse(published))).toBe('valid');
    }
    expect(Object.keys(JSON.parse(JSON.stringify(completed)).data)).not.toContain('arn');
    // And the schemas are not vacuous: a completed event is not a failed one.
    expect(validate('refund-failed', completed)).not.toBe('valid');
    expect(validate('refund-completed', { ...completed, id: undefined })).not.toBe('valid');
    expect(validate('refund-initiated', { refundId: 'R', paymentId: 'P', refundAmount: { currency: 'USD', value: 12 } })).toBe('valid');
    expect(validate('refund-initiated', { refundId: 'R', refundAmount: { currency: 'usd', value: '1' } })).not.toBe('valid');
  });

  it('AsyncAPI 3 document: every topic of the contract, every reference resolves, defaults match config/default.yaml', () => {
    const doc = parse(read('docs/asyncapi.yaml'));
    const defaults = parse(read('config/default.yaml'));
    expect(doc.asyncapi).toBe('3.0.0');
    const addresses = Object.values(doc.channels as Record<string, { address: string }>).map((c) => c.address).sort();
    expect(addresses).toEqual(
      [defaults.TOPIC_REFUND_INITIATED, defaults.TOPIC_REFUND_COMPLETED, defaults.TOPIC_REFUND_FAILED, defaults.TOPIC_REFUND_STALLED, defaults.TOPIC_DEAD_LETTER].sort(),
    );
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const target = ref.replace(/^#\//, '').split('/').reduce<any>((node, part) => node?.[part], doc);
      expect(target, ref).toBeDefined();
    }
    for (const op of Object.values(doc.operations as Record<string, { action: string }>)) expect(['send', 'receive']).toContain(op.action);
  });
});
