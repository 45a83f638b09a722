import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOutboxDispatcher, type OutboxDispatcherDeps } from '../../src/app/dispatch-outbox.js';
import { createCustomerEmailOutage } from '../../src/app/notify/customer-email-outage.js';
import { createFallbackPlanner } from '../../src/app/notify/fall-back.js';
import type { DeliverySender } from '../../src/app/notify/send-delivery.js';
import { CUSTOMER_CHANNEL, type DeliveryPayload, type MessagePayload, type NotifySettings } from '../../src/app/notify/vocabulary.js';
import type { OutboxEntry, OutboxEntryInput, RefundStore } from '../../src/app/ports.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { createSqliteStore } from '../../src/adapters/store/sqlite.js';
import { sleep } from '../../src/adapters/timers.js';
import { InDoubtError, LeaseLostError, RefundNotifierError } from '../../src/domain/errors.js';
import type { Delivery, NotificationSubject } from '../../src/domain/routing.js';
import { newRefund } from '../contract/refund-store.contract.js';
import { until } from '../support/until.js';

/**
 * The dispatcher and the notification rules around it, in milliseconds: a real (in-memory SQLite)
 * store, a fake clock for everything decided by time (give-up, fallback, announcements), and
 * senders that fail on cue. The real-broker tests prove the wiring; these prove the rules.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

const subject: NotificationSubject = {
  event: 'refund.completed',
  refundKey: 'R-000001',
  refundId: 'R-000001',
  paymentId: 'P-1',
  status: 'SUCCESS',
  refundAmount: { currency: 'USD', value: '1250' },
  customer: { email: 'c1@example.com', locale: 'en' },
  detectedAt: 0,
};

function customerDelivery(n: number): OutboxEntryInput {
  const delivery: Delivery = { receiver: { type: 'customer-email' }, template: 'customer-completed', dedupeKey: `R-${n}:customer:customer-completed`, route: 'customers' };
  return { dedupeKey: `delivery:${delivery.dedupeKey}`, kind: 'delivery', channel: CUSTOMER_CHANNEL, payload: { delivery, subject: { ...subject, refundKey: `R-${n}` } } satisfies DeliveryPayload, availableAt: 0 };
}

function slackDelivery(n: number, template: 'ops-line' | 'escalation' = 'ops-line'): OutboxEntryInput {
  const channel = template === 'ops-line' ? '#refunds' : '#refund-escalations';
  const delivery: Delivery = { receiver: { type: 'slack', channel }, template, dedupeKey: `R-${n}:slack:${channel}:${template}`, route: 'ops' };
  return { dedupeKey: `delivery:${delivery.dedupeKey}`, kind: 'delivery', channel: `slack:${channel}`, payload: { delivery, subject } satisfies DeliveryPayload, availableAt: 0 };
}

class Temporary extends RefundNotifierError {
  constructor(message = 'SMTP 451 try again later', retryAfterMs?: number) {
    super(message, { code: 'TEMPORARY', retriable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
}
class Permanent extends RefundNotifierError {
  constructor(message = 'SMTP 550 no such user') {
    super(message, { code: 'PERMANENT', retriable: false });
  }
}

/** A store whose named methods fail the next `n` calls, to break the marks on cue. */
function flaky(store: RefundStore) {
  const failing = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const left = failing.get(String(prop)) ?? 0;
        if (left > 0) {
          failing.set(String(prop), left - 1);
          return Promise.reject(Object.assign(new Error(`database is locked (${String(prop)})`), { code: 'SQLITE_BUSY' }));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, fail: (method: keyof RefundStore, n: number) => failing.set(method, n) };
}

describe('outbox dispatcher', () => {
  let store: RefundStore;
  let now: number;
  const clock = { now: () => now };

  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    now = Date.parse('2026-12-01T10:00:00Z');
  });
  afterEach(async () => {
    await store.close();
  });

  async function enqueue(entries: OutboxEntryInput[]): Promise<void> {
    await store.trackRefunds([newRefund(1)], { now, firstPollAt: now });
    const r = (await store.getRefund('R-000001'))!;
    await store.applyDecision({ key: r.id, version: r.version, patch: {}, timeline: [], outbox: entries.map((e) => ({ ...e, availableAt: now })), now });
  }

  function dispatcher(over: Partial<OutboxDispatcherDeps> & { deliver: DeliverySender }) {
    return createOutboxDispatcher({
      store,
      publisher: { publish: async () => {} },
      clock,
      sleep,
      logger,
      owner: 'test',
      giveUpAfterMs: (e) => (e.channel === CUSTOMER_CHANNEL ? 72 * HOUR : 24 * HOUR),
      ...over,
    });
  }

  const byKey = async (key: string) => (await store.listOutbox({ limit: 1000 })).find((e) => e.dedupeKey === key)!;

  it("logs a failed delivery with its refund's trace id (retried, then given up)", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const entry = customerDelivery(1);
    const payload = entry.payload as DeliveryPayload;
    await enqueue([{ ...entry, payload: { ...payload, subject: { ...payload.subject, traceparent: `00-${traceId}-00f067aa0ba902b7-01` } } }]);
    const lines: Array<Record<string, unknown>> = [];
    const capture = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, done) => (lines.push(JSON.parse(String(c)) as Record<string, unknown>), done()) }) });
    let fails: Error = new Temporary();
    const d = dispatcher({ logger: capture, deliver: async () => Promise.reject(fails) });
    await d.dispatchOnce();
    fails = new Permanent();
    now += HOUR;
    await d.dispatchOnce();
    const about = lines.filter((l) => l['entry'] === entry.dedupeKey).map((l) => [l['msg'], l['trace_id']]);
    expect(about).toEqual([
      ['delivery failed; will retry', traceId],
      ['delivery given up', traceId],
    ]);
  });

  it('never repeats a send that succeeded: when the sent mark fails, only the mark is retried', async () => {
    await enqueue([customerDelivery(1)]);
    const { store: broken, fail } = flaky(store);
    fail('markOutboxSent', 3);
    let sends = 0;
    const d = dispatcher({ store: broken, deliver: async () => void (sends += 1) });
    expect(await d.dispatchOnce()).toBe(1);
    expect(sends).toBe(1);
    expect(await byKey(customerDelivery(1).dedupeKey)).toMatchObject({ status: 'sent', attempts: 1 });
    // Nothing left to send, now or later.
    now += HOUR;
    expect(await d.dispatchOnce()).toBe(0);
    expect(sends).toBe(1);
  });

  it('keeps a failure it could not record at first: the retry mark is retried, the send is not repeated in the pass', async () => {
    await enqueue([customerDelivery(1)]);
    const { store: broken, fail } = flaky(store);
    fail('retryOutboxLater', 2);
    let sends = 0;
    const d = dispatcher({
      store: broken,
      deliver: async () => {
        sends += 1;
        throw new Temporary();
      },
    });
    await d.dispatchOnce();
    expect(sends).toBe(1);
    expect(await byKey(customerDelivery(1).dedupeKey)).toMatchObject({ status: 'pending', lastError: 'SMTP 451 try again later', failingSince: now });
  });

  it('retries a temporary failure until its give-up time, not for a count of attempts', async () => {
    await enqueue([customerDelivery(1)]);
    const started = now;
    let sends = 0;
    const d = dispatcher({
      deliver: async () => {
        sends += 1;
        throw new Temporary();
      },
    });
    // Forty attempts over the backoff ladder (capped at 15 minutes), about 7 hours: still pending.
    for (let i = 0; i < 40; i++) {
      const e = await byKey(customerDelivery(1).dedupeKey);
      now = Math.max(now, e.availableAt);
      await d.dispatchOnce();
    }
    const e = await byKey(customerDelivery(1).dedupeKey);
    expect(sends).toBe(40);
    expect(e).toMatchObject({ status: 'pending', attempts: 40, failingSince: started });
    expect(e.availableAt - now).toBeLessThanOrEqual(15 * MINUTE);
    // 72 hours after the first failure it is given up.
    now = started + 72 * HOUR;
    await d.dispatchOnce();
    expect(await byKey(customerDelivery(1).dedupeKey)).toMatchObject({ status: 'dead', attempts: 41 });
  });

  it('gives up at once on a permanent failure, and never retries a send in doubt', async () => {
    await enqueue([customerDelivery(1), customerDelivery(2)]);
    const sent: string[] = [];
    const d = dispatcher({
      deliver: async (entry) => {
        sent.push(entry.dedupeKey);
        if (entry.dedupeKey === customerDelivery(1).dedupeKey) throw new Permanent();
        throw Object.assign(new InDoubtError('the connection was lost after the message was sent'), {});
      },
    });
    await d.dispatchOnce();
    now += 72 * HOUR;
    expect(await d.dispatchOnce()).toBe(0);
    expect(sent).toHaveLength(2);
    expect(await byKey(customerDelivery(1).dedupeKey)).toMatchObject({ status: 'dead', lastError: 'SMTP 550 no such user' });
    expect(await byKey(customerDelivery(2).dedupeKey)).toMatchObject({ status: 'dead', lastError: 'the connection was lost after the message was sent' });
  });

  it('leaves an entry whose lease passed to another dispatcher to its new holder', async () => {
    await enqueue([customerDelivery(1)]);
    let taken: OutboxEntry[] = [];
    const d = dispatcher({
      leaseMs: 60_000,
      deliver: async () => {
        // This pass stalled past its lease, and another instance claimed the entry meanwhile.
        now += 61_000;
        taken = await store.claimOutbox({ owner: 'other', now, limit: 10, leaseMs: 60_000 });
        throw new LeaseLostError('the lease passed to another dispatcher');
      },
    });
    await d.dispatchOnce();
    expect(taken).toHaveLength(1);
    const e = await byKey(customerDelivery(1).dedupeKey);
    expect(e).toMatchObject({ status: 'pending', attempts: 2 });
    expect(e.lastError).toBeUndefined();
    expect(d.stats.dead).toBe(0);
  });

  it('holds a Retry-After to the delivery ceiling', async () => {
    await enqueue([slackDelivery(1)]);
    const d = dispatcher({
      deliver: async () => {
        throw new Temporary('Slack 429', 999_999_999_000);
      },
    });
    await d.dispatchOnce();
    const e = await byKey(slackDelivery(1).dedupeKey);
    expect(e.status).toBe('pending');
    expect(e.availableAt - now).toBeLessThanOrEqual(15 * MINUTE);
    expect(e.availableAt - now).toBeGreaterThan(0);
  });

  it('renews its leases while a pass runs long, so no other dispatcher can take the entries', async () => {
    now = Date.now();
    const realClock = { now: () => Date.now() };
    await enqueue([customerDelivery(1)]);
    let release!: () => void;
    const slowSend = new Promise<void>((resolve) => (release = resolve));
    let sends = 0;
    const d = dispatcher({
      clock: realClock,
      leaseMs: 300,
      deliver: async () => {
        sends += 1;
        await slowSend;
      },
    });
    const pass = d.dispatchOnce();
    await until(() => sends === 1, { message: 'the send started' });
    // For four lease lengths, another dispatcher finds nothing to claim.
    const deadline = Date.now() + 1200;
    while (Date.now() < deadline) {
      expect(await store.claimOutbox({ owner: 'other', now: Date.now(), limit: 10, leaseMs: 300 })).toEqual([]);
      await sleep(50);
    }
    release();
    expect(await pass).toBe(1);
    expect(await byKey(customerDelivery(1).dedupeKey)).toMatchObject({ status: 'sent' });
  });

  describe('notification rules', () => {
    const settings: NotifySettings = {
      groupWindowMs: 5 * MINUTE,
      groupUpdateIntervalMs: 30_000,
      reminderIntervalMs: 12 * HOUR,
      staleAfterMs: 10 * MINUTE,
      fallbackAfterMs: 5 * MINUTE,
      customerGiveUpAfterMs: 72 * HOUR,
      giveUpAfterMs: 24 * HOUR,
      escalationEmailTo: ['finance@acme.example'],
      escalationChannel: '#refund-escalations',
    };
    // The in-doubt report names the Message-ID, on the domain of the customer email's sender.
    const render = { messageId: (k: string) => `<${k}@test>`, customerEmail: () => ({ subject: '', html: '', text: '' }) } as never;
    const sender = () => ({
      fallbackFor: createFallbackPlanner({
        slack: { mode: 'bot', postMessage: async () => ({}), updateMessage: async () => {} },
        email: { send: async () => ({ messageId: 'x' }) },
        render,
        settings,
      }),
    });
    const entry = (input: OutboxEntryInput): OutboxEntry => ({ ...input, id: 1, refundKey: 'R-1', status: 'pending', attempts: 1, createdAt: now });

    it('an escalation falls back to the other channel after NOTIFY_FALLBACK_AFTER of failures, not after a blip', () => {
      const { fallbackFor } = sender();
      const e = entry(slackDelivery(1, 'escalation'));
      expect(fallbackFor(e, new Temporary('Slack 503'), { failingSince: now, now })).toBeUndefined();
      expect(fallbackFor(e, new Temporary('Slack 503'), { failingSince: now, now: now + 5 * MINUTE - 1 })).toBeUndefined();
      const fallback = fallbackFor(e, new Temporary('Slack 503'), { failingSince: now, now: now + 5 * MINUTE });
      expect(fallback).toMatchObject([{ kind: 'delivery', channel: 'email:finance@acme.example' }]);
      // A permanent refusal falls back at once.
      expect(fallbackFor(e, new Permanent('channel_not_found'), { failingSince: now, now })).toHaveLength(1);
    });

    it('a customer email is reported only after CUSTOMER_EMAIL_GIVE_UP_AFTER, on a permanent refusal, or in doubt', () => {
      const { fallbackFor } = sender();
      const e = entry(customerDelivery(1));
      expect(fallbackFor(e, new Temporary(), { failingSince: now, now: now + 71 * HOUR })).toBeUndefined();
      const late = fallbackFor(e, new Temporary(), { failingSince: now, now: now + 72 * HOUR })!;
      expect(late).toHaveLength(1);
      expect((late[0]!.payload as DeliveryPayload).subject.reasonCode).toBe('CUSTOMER_EMAIL_NOT_SENT');
      expect(fallbackFor(e, new Permanent(), { failingSince: now, now })).toHaveLength(1);
      const doubt = fallbackFor(e, new InDoubtError('lost after DATA'), { failingSince: now, now })!;
      expect((doubt[0]!.payload as DeliveryPayload).subject.reasonCode).toBe('CUSTOMER_EMAIL_IN_DOUBT');
      expect((doubt[0]!.payload as DeliveryPayload).delivery.playbook).toMatch(/may or may not have been delivered/);
    });
  });

  describe('a customer-email outage', () => {
    const receiver = { type: 'slack', channel: '#refund-escalations' } as const;
    const outageOf = () => createCustomerEmailOutage({ store, clock, logger, receiver, announceAfterMs: 5 * MINUTE, giveUpAfterMs: 72 * HOUR });
    const notices = async () =>
      (await store.listOutbox({ limit: 1000 })).filter((e) => e.dedupeKey.startsWith('outage:')).map((e) => ({ key: e.dedupeKey, text: (e.payload as MessagePayload).message.text }));

    it('is announced once after NOTIFY_FALLBACK_AFTER, cleared once when emails flow, and the backlog is sent at once', async () => {
      await enqueue([1, 2, 3].map(customerDelivery));
      const outage = outageOf();
      let smtpUp = false;
      const sent: string[] = [];
      const d = dispatcher({
        kinds: ['delivery'],
        watch: outage,
        deliver: async (e) => {
          if (e.channel !== CUSTOMER_CHANNEL) return; // the notices themselves
          if (!smtpUp) throw new Temporary();
          sent.push(e.dedupeKey);
        },
      });
      const since = now;
      await d.dispatchOnce();
      expect(await store.getOutage(CUSTOMER_CHANNEL)).toMatchObject({ since, lastError: 'SMTP 451 try again later' });
      // A short outage is not announced.
      now += 4 * MINUTE;
      await outage.check();
      expect(await notices()).toEqual([]);
      // Past NOTIFY_FALLBACK_AFTER: once, however often it is checked or by whom.
      now = since + 5 * MINUTE;
      await outage.check();
      await outage.check();
      await outageOf().check();
      expect(await notices()).toEqual([
        { key: `outage:customer:${since}:delayed`, text: expect.stringMatching(/^Customer emails are delayed: .* 3 customer emails are waiting/) },
      ]);
      // The server answers again: the first email that goes out clears it.
      smtpUp = true;
      await enqueue([customerDelivery(4)]);
      await d.dispatchOnce();
      expect(await store.getOutage(CUSTOMER_CHANNEL)).toBeUndefined();
      expect((await notices()).map((n) => n.key)).toEqual([`outage:customer:${since}:delayed`, `outage:customer:${since}:recovered`]);
      expect((await notices())[1]!.text).toMatch(/^Customer emails flow again after 5m/);
      await d.dispatchOnce();
      expect(sent.sort()).toEqual([1, 2, 3, 4].map((n) => customerDelivery(n).dedupeKey).sort());
    });

    it('a refused address or an email in doubt is not an outage; an unannounced outage ends quietly', async () => {
      await enqueue([1, 2, 3].map(customerDelivery));
      const outage = outageOf();
      const d = dispatcher({
        kinds: ['delivery'],
        watch: outage,
        deliver: async (e) => {
          if (e.dedupeKey === customerDelivery(1).dedupeKey) throw new Permanent();
          if (e.dedupeKey === customerDelivery(2).dedupeKey) throw new InDoubtError('lost after DATA');
        },
      });
      await d.dispatchOnce();
      expect(await store.getOutage(CUSTOMER_CHANNEL)).toBeUndefined();
      // Opened elsewhere (another instance); this one learns of it by its periodic check.
      await store.openOutage(CUSTOMER_CHANNEL, now, 'SMTP connection refused');
      await outage.check();
      await enqueue([customerDelivery(5)]);
      await d.dispatchOnce();
      expect(await store.getOutage(CUSTOMER_CHANNEL)).toBeUndefined();
      expect(await notices()).toEqual([]);
    });
  });
});
