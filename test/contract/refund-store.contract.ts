import { afterEach, beforeEach, describe, expect, it, type RunnerTestSuite } from 'vitest';
import type { GroupMember, OutboxEntryInput, RefundStore } from '../../src/app/ports.js';
import type { NewRefund, RefundPatch, TrackedRefund } from '../../src/domain/refund.js';
import type { GroupKey, OpsReceiver } from '../../src/domain/routing.js';

/** A refund as the ingest would produce it. */
export function newRefund(n: number, over: Partial<NewRefund> = {}): NewRefund {
  const refundId = `R-${String(n).padStart(6, '0')}`;
  return {
    id: refundId,
    refundId,
    refundRequestId: `RQ-${n}`,
    paymentId: `P-${n}`,
    refundAmount: { currency: 'USD', value: String(1000 + n) },
    customer: { email: `c${n}@example.com`, name: `Customer ${n}`, locale: 'en' },
    initiatedAt: '2026-11-25T10:00:00.000Z',
    metadata: { orderId: `O-${n}`, nested: { ok: true } },
    origin: { topic: 'refunds.initiated', partition: 0, offset: String(n) },
    ...over,
  };
}

const MARKS = 'marks sent, retries later, gives up, requeues, expands, counts and prunes';
const LEASE_HOLDER = 'applies every mark only for the lease holder, and renews leases it holds';
const REFUND_LOOKUPS = 'gives a lease back, finds by either id, re-checks on demand, lists overdue refunds';
const OUTAGES = 'opens, announces and closes a channel outage once each, with their notices';
const GROUP_FLUSHES = 'lists the groups to flush, records flushes and failures, and forgets closed groups';
const RATE_BUCKET = 'shares one token bucket between takers: never more than it holds, refilled by time, slowed for everyone';
const RETENTION = 'erases customer data and prunes the history of refunds final long enough ago, keeping the refund rows';
const JOB_RUNS = 'gives each job run for a period to one claimer, and prunes old claims';
const CONSOLE_LOOKUPS = 'finds refunds by payment id, customer email and failed reason code, in key order, with keyset paging';
const CONSOLE_SUMMARIES = 'summarizes stalled refunds and counts failed ones by reason code';
const OUTBOX_SUMMARY = 'summarizes pending, failing and dead entries per kind and channel, and pages a listing by id';
const REMINDERS = 'lists reminders due for stalled refunds, oldest thread first; a reminder restarts the interval';

/**
 * Every method of the port (RefundStore with NotificationStateStore) and the test of this suite
 * that pins its behaviour down, by title; other tests may exercise it too. A method without a test
 * cannot hide: tsc rejects this table when the port gains a method it does not list, and the test
 * 'covers every method of the port with a test of this suite' fails when a title names no test
 * here or the store has a method the table does not list.
 */
const COVERAGE = {
  // The store itself
  migrate: 'migrate is idempotent',
  ping: 'answers the probes while open and fails them once closed',
  heartbeat: 'proves it takes writes with a heartbeat upsert',
  close: 'close is idempotent',
  // Refunds: tracking, reading, listing, timeline
  trackRefunds: 'tracks new refunds as pending, due at the first poll time, with a timeline entry',
  getRefund: 'keeps optional fields absent rather than inventing them',
  findRefund: REFUND_LOOKUPS,
  listRefunds: CONSOLE_LOOKUPS,
  countByStatus: 'counts refunds by status, every status present',
  foldCounts: 'keeps its counts by status equal to its rows through every write path',
  summarizeStalled: CONSOLE_SUMMARIES,
  countFailedByReason: CONSOLE_SUMMARIES,
  timeline: 'shows in the tracked entry of the timeline that the record timestamp was not used',
  appendTimeline: 'appends timeline entries after the tracked one, in order, at the given time',
  // Refunds: claims, leases, decisions, schedule
  claimDue: 'never gives one refund to two claimers at once, and frees it when the lease runs out',
  releaseLease: REFUND_LOOKUPS,
  applyDecision: 'applies a decision with its timeline and outbox atomically, once, and clears the lease',
  applyDecisions: 'applies several decisions in one call, each guarded by its own version',
  nextDueAt: REFUND_LOOKUPS,
  listOverdue: 'lists overdue refunds: unstalled ones past stalledBefore, any past giveUpBefore, never final or given up',
  recheckNow: REFUND_LOOKUPS,
  // Outbox
  claimOutbox: 'claims due entries in order, by kind, under a lease',
  claimBacklog: 'claims the backlog of one receiver: its pending deliveries created before a time, due or not',
  renewOutboxLeases: LEASE_HOLDER,
  markOutboxSending: LEASE_HOLDER,
  markOutboxSent: MARKS,
  retryOutboxLater: MARKS,
  markOutboxDead: MARKS,
  expandOutbox: MARKS,
  requeueOutbox: MARKS,
  listOutbox: 'claims due entries in order, by kind, under a lease',
  countOutbox: MARKS,
  summarizeOutbox: OUTBOX_SUMMARY,
  earliestOutboxDue: 'tells when the pending entry due first is due, leased or not',
  pruneOutbox: MARKS,
  enqueueOutbox: 'enqueues entries of no decision once per dedupe key',
  countWaiting: 'counts what waits on a channel and makes it due at once',
  hurryChannel: 'counts what waits on a channel and makes it due at once',
  // Channel outages
  openOutage: OUTAGES,
  getOutage: OUTAGES,
  announceOutage: OUTAGES,
  closeOutage: OUTAGES,
  // Notification groups
  addGroupMember: 'opens a group for its first member and adds each later one once, in order',
  groupMembers: 'opens a group for its first member and adds each later one once, in order',
  markGroupFlushed: GROUP_FLUSHES,
  markGroupFailed: GROUP_FLUSHES,
  listGroupsToFlush: GROUP_FLUSHES,
  closeGroup: 'keeps one open group per receiver and key, and opens a new one after its window or a close',
  // Slack threads
  saveThread: 'keeps the first thread of a refund in a channel',
  getThread: 'keeps the first thread of a refund in a channel',
  listRemindersDue: REMINDERS,
  markReminded: REMINDERS,
  // Scheduled jobs, once per cluster
  claimJobRun: JOB_RUNS,
  pruneJobRuns: JOB_RUNS,
  // Retention
  eraseCustomerData: RETENTION,
  pruneHistory: RETENTION,
  // One Antom budget for the cluster
  takeRateTokens: RATE_BUCKET,
  slowRateBucket: RATE_BUCKET,
} satisfies Record<keyof RefundStore, string>;

/**
 * The behaviour every RefundStore must have (BullMQ's adapter conformance habit): the same
 * suite runs against SQLite and PostgreSQL.
 */
export function describeRefundStoreContract(name: string, open: () => Promise<RefundStore>): void {
  describe(`RefundStore contract: ${name}`, () => {
    let store: RefundStore;
    const now = Date.parse('2026-11-25T10:00:01Z');
    const ctx = { now, firstPollAt: now + 5_000 };

    beforeEach(async () => {
      store = await open();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    /** Sets a refund's state and writes effects the way the poll loop does: a decision on its current version. */
    async function decide(key: string, patch: RefundPatch, outbox: OutboxEntryInput[] = [], at = now): Promise<void> {
      const r = (await store.getRefund(key))!;
      expect(await store.applyDecision({ key, version: r.version, patch, timeline: [], outbox, now: at })).toBe(true);
    }

    it('migrate is idempotent', async () => {
      await store.migrate();
      await store.migrate();
      await store.ping();
    });

    it('tracks new refunds as pending, due at the first poll time, with a timeline entry', async () => {
      const result = await store.trackRefunds([newRefund(1), newRefund(2)], ctx);
      expect(result).toEqual({ inserted: ['R-000001', 'R-000002'], duplicates: 0, conflicts: [] });
      const r = await store.getRefund('R-000001');
      expect(r).toMatchObject({
        id: 'R-000001',
        refundId: 'R-000001',
        refundRequestId: 'RQ-1',
        paymentId: 'P-1',
        refundAmount: { currency: 'USD', value: '1001' },
        customer: { email: 'c1@example.com', name: 'Customer 1', locale: 'en' },
        metadata: { orderId: 'O-1', nested: { ok: true } },
        origin: { topic: 'refunds.initiated', partition: 0, offset: '1' },
        status: 'pending',
        inquiries: 0,
        escalated: false,
        nextPollAt: now + 5_000,
        recordedAt: now,
      });
      const timeline = await store.timeline('R-000001');
      expect(timeline).toHaveLength(1);
      expect(timeline[0]).toMatchObject({ kind: 'tracked', at: now, refundKey: 'R-000001' });
    });

    it('is idempotent by refund id: a duplicate changes nothing', async () => {
      await store.trackRefunds([newRefund(1)], ctx);
      const later = { now: now + 60_000, firstPollAt: now + 65_000 };
      const again = await store.trackRefunds(
        [newRefund(1, { paymentId: 'P-other', refundAmount: { currency: 'EUR', value: '1' } })],
        later,
      );
      expect(again).toEqual({ inserted: [], duplicates: 1, conflicts: [] });
      const r = await store.getRefund('R-000001');
      expect(r).toMatchObject({ paymentId: 'P-1', refundAmount: { currency: 'USD', value: '1001' }, recordedAt: now });
      expect(await store.timeline('R-000001')).toHaveLength(1);
    });

    it('is idempotent by refundRequestId too, when the record names no other refundId', async () => {
      await store.trackRefunds([newRefund(1)], ctx);
      // The same refund seen by its request id alone (v1), or a row tracked by request id alone
      // seen again with Antom's id: one refund, no clash.
      const byRequest: NewRefund = { ...newRefund(1), id: 'request:RQ-1', refundId: undefined };
      expect(await store.trackRefunds([byRequest], ctx)).toEqual({ inserted: [], duplicates: 1, conflicts: [] });
      await store.trackRefunds([{ ...newRefund(5), id: 'request:RQ-5', refundId: undefined }], ctx);
      expect(await store.trackRefunds([newRefund(5)], ctx)).toEqual({ inserted: [], duplicates: 1, conflicts: [] });
      expect(await store.getRefund('R-000005')).toBeUndefined();
    });

    it('reports a refundRequestId tracked under another refundId as a conflict, never drops it silently', async () => {
      await store.trackRefunds([newRefund(1)], ctx);
      const clash = newRefund(2, { refundRequestId: 'RQ-1' });
      const result = await store.trackRefunds([clash, newRefund(3)], ctx);
      expect(result.inserted).toEqual(['R-000003']);
      expect(result.duplicates).toBe(0);
      expect(result.conflicts).toEqual([
        { refund: clash, reason: 'refundRequestId RQ-1 is already tracked for refundId R-000001; this record names refundId R-000002' },
      ]);
      expect(await store.getRefund('R-000002')).toBeUndefined();
      // Within one batch too: the first record for the request id wins, the other clashes.
      const a = newRefund(7, { refundRequestId: 'RQ-77' });
      const b = newRefund(8, { refundRequestId: 'RQ-77' });
      const same = await store.trackRefunds([a, b], ctx);
      expect(same.inserted).toEqual(['R-000007']);
      expect(same.conflicts.map((c) => c.refund.id)).toEqual(['R-000008']);
    });

    it('shows in the tracked entry of the timeline that the record timestamp was not used', async () => {
      const note = 'record timestamp 1732950000000000000 is not a plausible epoch-millisecond time; the time of consumption was used';
      await store.trackRefunds([newRefund(4, { origin: { topic: 't', partition: 1, offset: '4', recordTimestamp: '1732950000000000000', timestampNote: note } })], ctx);
      const [tracked] = await store.timeline('R-000004');
      expect(tracked!.message).toBe(`tracked from t[1]@4; ${note}`);
    });

    it('proves it takes writes with a heartbeat upsert', async () => {
      await store.heartbeat('instance-a', now);
      // The same instance again is an update, not a second row that the key would refuse.
      await expect(store.heartbeat('instance-a', now + 1000)).resolves.toBeUndefined();
      await expect(store.heartbeat('instance-b', now + 1000)).resolves.toBeUndefined();
    });

    it('answers the probes while open and fails them once closed', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      // The readiness probe reports a store it cannot use: it must reject, not hang or pass.
      await expect(store.ping()).rejects.toThrow();
      await expect(store.heartbeat('instance-a', now)).rejects.toThrow();
      store = await open(); // afterEach closes this one
    });

    it('counts refunds by status, every status present', async () => {
      expect(await store.countByStatus()).toEqual({ pending: 0, stalled: 0, completed: 0, failed: 0 });
      await store.trackRefunds([0, 1, 2, 3, 4].map((n) => newRefund(n)), ctx);
      const outcomes = { 'R-000001': 'completed', 'R-000002': 'failed', 'R-000003': 'stalled' } as const;
      for (const [key, status] of Object.entries(outcomes)) await decide(key, { status });
      expect(await store.countByStatus()).toEqual({ pending: 2, stalled: 1, completed: 1, failed: 1 });
    });

    it('keeps its counts by status equal to its rows through every write path', async () => {
      /** What the rows say, counted one by one through the listings. */
      async function tally() {
        const refunds = { pending: 0, stalled: 0, completed: 0, failed: 0 };
        for (const status of Object.keys(refunds) as Array<keyof typeof refunds>) refunds[status] = (await store.listRefunds({ status, limit: 1000 })).length;
        const outbox = { pending: 0, sent: 0, dead: 0 };
        for (const status of Object.keys(outbox) as Array<keyof typeof outbox>) outbox[status] = (await store.listOutbox({ status, limit: 1000 })).length;
        return { refunds, outbox };
      }
      async function expectCountsTrue(expected: Awaited<ReturnType<typeof tally>>) {
        expect(await tally()).toEqual(expected);
        expect({ refunds: await store.countByStatus(), outbox: await store.countOutbox() }).toEqual(expected);
        // Folding the rows they are kept in changes no count.
        expect(await store.foldCounts()).toBeGreaterThanOrEqual(0);
        expect({ refunds: await store.countByStatus(), outbox: await store.countOutbox() }).toEqual(expected);
      }
      const effect = (key: string): OutboxEntryInput => ({ dedupeKey: key, kind: 'delivery', channel: 'slack:#c', payload: {}, availableAt: now });

      // Ingest in two statements, with duplicates and a replay.
      await store.trackRefunds(Array.from({ length: 1_200 }, (_, i) => newRefund(i % 600)), ctx);
      await store.trackRefunds([newRefund(5), newRefund(600)], ctx);
      await expectCountsTrue({ refunds: { pending: 601, stalled: 0, completed: 0, failed: 0 }, outbox: { pending: 0, sent: 0, dead: 0 } });

      // Claims and lease releases change no status; decisions do, each once.
      const claimed = await store.claimDue({ owner: 'a', now: now + 10 ** 6, limit: 4, leaseMs: 30_000 });
      await store.releaseLease(claimed[3]!.id, 'a');
      const decisions = [
        { key: claimed[0]!.id, version: claimed[0]!.version, patch: { status: 'completed' as const }, timeline: [], outbox: [effect('e1'), effect('e2')], now },
        { key: claimed[1]!.id, version: claimed[1]!.version, patch: { status: 'failed' as const }, timeline: [], outbox: [effect('e3')], now },
        { key: claimed[2]!.id, version: claimed[2]!.version, patch: { inquiries: 1 }, timeline: [], outbox: [], now },
      ];
      expect(await store.applyDecisions(decisions)).toEqual([true, true, true]);
      // A stale decision (the version moved on) changes nothing.
      expect(await store.applyDecisions([{ ...decisions[0]!, patch: { status: 'failed' } }])).toEqual([false]);
      const [a, b, c] = ['R-000100', 'R-000101', 'R-000102', 'R-000103'].filter((key) => !claimed.some((r) => r.id === key));
      await decide(a!, { status: 'stalled' });
      await decide(b!, { status: 'stalled' });
      await decide(b!, { status: 'pending' });
      expect(await store.recheckNow(a!, now)).toBe(true);
      await expectCountsTrue({ refunds: { pending: 598, stalled: 1, completed: 1, failed: 1 }, outbox: { pending: 3, sent: 0, dead: 0 } });

      // The outbox: entries of no decision, marks, expansion, requeue, prune.
      await store.enqueueOutbox('digest', [effect('digest:1'), effect('e1')], now);
      const entries = await store.claimOutbox({ owner: 'a', now: now + 10, limit: 10, leaseMs: 1000 });
      expect(await store.markOutboxSent([entries[0]!.id], now + 10, 'a')).toBe(1);
      expect(await store.markOutboxDead(entries[1]!.id, { error: 'x', now: now + 10, owner: 'a' })).toBe(true);
      await store.expandOutbox([{ doneId: entries[2]!.id, refundKey: 'R-000001', entries: [effect('x1'), effect('x2')] }], now + 10, 'a');
      await expectCountsTrue({ refunds: { pending: 598, stalled: 1, completed: 1, failed: 1 }, outbox: { pending: 3, sent: 2, dead: 1 } });
      expect(await store.requeueOutbox(entries[1]!.id, now + 20)).toBe(true);
      expect(await store.pruneOutbox(now + 11)).toBe(2);
      await expectCountsTrue({ refunds: { pending: 598, stalled: 1, completed: 1, failed: 1 }, outbox: { pending: 4, sent: 0, dead: 0 } });

      // Retention keeps the rows: the counts stay.
      await decide(c!, { status: 'completed', finalizedAt: now });
      await store.eraseCustomerData({ finalBefore: now + 1, limit: 10 });
      await store.pruneHistory({ finalBefore: now + 1, limit: 10 });
      await expectCountsTrue({ refunds: { pending: 597, stalled: 1, completed: 2, failed: 1 }, outbox: { pending: 4, sent: 0, dead: 0 } });
    });

    it('appends timeline entries after the tracked one, in order, at the given time', async () => {
      await store.trackRefunds([newRefund(1), newRefund(2)], ctx);
      await store.appendTimeline('R-000001', [], now + 1);
      expect(await store.timeline('R-000001')).toHaveLength(1);
      await store.appendTimeline(
        'R-000001',
        [
          { kind: 'notification', message: 'ops told', detail: { receiver: 'slack:#esc', n: 1 } },
          { kind: 'inquiry', message: 'PROCESSING' },
        ],
        now + 5,
      );
      await store.appendTimeline('R-000001', [{ kind: 'notification', message: 'customer told' }], now + 9);
      const entries = await store.timeline('R-000001');
      expect(entries.slice(1)).toEqual([
        { refundKey: 'R-000001', at: now + 5, kind: 'notification', message: 'ops told', detail: { receiver: 'slack:#esc', n: 1 } },
        { refundKey: 'R-000001', at: now + 5, kind: 'inquiry', message: 'PROCESSING', detail: undefined },
        { refundKey: 'R-000001', at: now + 9, kind: 'notification', message: 'customer told', detail: undefined },
      ]);
      // Another refund's timeline is its own; an unknown refund has none.
      expect(await store.timeline('R-000002')).toHaveLength(1);
      expect(await store.timeline('R-999999')).toEqual([]);
    });

    it('within one batch the first record for a refund wins', async () => {
      const result = await store.trackRefunds([newRefund(1), newRefund(1, { paymentId: 'P-late' }), newRefund(3)], ctx);
      expect(result).toEqual({ inserted: ['R-000001', 'R-000003'], duplicates: 1, conflicts: [] });
      expect((await store.getRefund('R-000001'))?.paymentId).toBe('P-1');
    });

    it('keeps optional fields absent rather than inventing them', async () => {
      const bare: NewRefund = {
        id: 'request:RQ-9',
        refundRequestId: 'RQ-9',
        paymentId: 'P-9',
        initiatedAt: '2026-11-25T10:00:00Z',
        origin: { topic: 't', partition: 3, offset: '9', eventId: 'ev-9' },
      };
      await store.trackRefunds([bare], ctx);
      const r = await store.getRefund('request:RQ-9');
      expect(r).toBeDefined();
      expect(r!.refundId).toBeUndefined();
      expect(r!.refundAmount).toBeUndefined();
      expect(r!.customer).toBeUndefined();
      expect(r!.metadata).toBeUndefined();
      expect(r!.origin).toEqual({ topic: 't', partition: 3, offset: '9', eventId: 'ev-9' });
    });

    it('keeps the trace context in the origin, for whichever instance claims the refund later', async () => {
      // docs/operations.md, "Tracing": the origin JSON is where a refund's trace survives restarts.
      const traced = { topic: 't', partition: 0, offset: '7', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' };
      await store.trackRefunds([newRefund(7, { origin: traced })], { ...ctx, firstPollAt: ctx.now });
      expect((await store.getRefund('R-000007'))?.origin).toEqual(traced);
      const [claimed] = await store.claimDue({ owner: 'elsewhere', now: ctx.now, limit: 1, leaseMs: 60_000 });
      expect(claimed?.origin).toEqual(traced);
    });

    it('writes large batches beyond one statement', async () => {
      const many = Array.from({ length: 2_500 }, (_, i) => newRefund(i));
      const result = await store.trackRefunds(many, ctx);
      expect(result.inserted).toHaveLength(2_500);
      expect((await store.countByStatus()).pending).toBe(2_500);
    });

    it('lists with a status filter and keyset pagination', async () => {
      await store.trackRefunds([newRefund(3), newRefund(1), newRefund(2)], ctx);
      const page1 = await store.listRefunds({ status: 'pending', limit: 2 });
      expect(page1.map((r) => r.id)).toEqual(['R-000001', 'R-000002']);
      const page2 = await store.listRefunds({ status: 'pending', limit: 2, after: 'R-000002' });
      expect(page2.map((r) => r.id)).toEqual(['R-000003']);
      expect(await store.listRefunds({ status: 'completed' })).toEqual([]);
    });

    it(CONSOLE_LOOKUPS, async () => {
      await store.trackRefunds(
        [
          newRefund(1, { paymentId: 'P-shared' }),
          newRefund(2),
          newRefund(3, { paymentId: 'P-shared', customer: { email: 'same@example.com' } }),
          newRefund(4, { paymentId: 'P-shared', customer: { email: 'same@example.com' } }),
          newRefund(5, { customer: undefined }),
        ],
        ctx,
      );
      const ids = (refunds: TrackedRefund[]) => refunds.map((r) => r.id);
      expect(ids(await store.listRefunds({ paymentId: 'P-shared', limit: 2 }))).toEqual(['R-000001', 'R-000003']);
      expect(ids(await store.listRefunds({ paymentId: 'P-shared', limit: 2, after: 'R-000003' }))).toEqual(['R-000004']);
      expect(ids(await store.listRefunds({ customerEmail: 'same@example.com' }))).toEqual(['R-000003', 'R-000004']);
      // Exact: no prefix, no other case.
      expect(await store.listRefunds({ customerEmail: 'same@example' })).toEqual([]);
      expect(await store.listRefunds({ customerEmail: 'SAME@example.com' })).toEqual([]);
      expect(ids(await store.listRefunds({ customerEmail: 'c2@example.com', status: 'pending' }))).toEqual(['R-000002']);
      expect(await store.listRefunds({ paymentId: 'P-2', status: 'failed' })).toEqual([]);

      await decide('R-000001', { status: 'failed', reasonCode: 'RISK_REJECT', finalizedAt: now });
      await decide('R-000002', { status: 'failed', reasonCode: 'MERCHANT_BALANCE_NOT_ENOUGH', finalizedAt: now });
      await decide('R-000004', { status: 'failed', reasonCode: 'RISK_REJECT', finalizedAt: now });
      // Pending with a reason code (not found yet): not a failed refund.
      await decide('R-000005', { reasonCode: 'RISK_REJECT' });
      expect(ids(await store.listRefunds({ status: 'failed', reasonCode: 'RISK_REJECT', limit: 1 }))).toEqual(['R-000001']);
      expect(ids(await store.listRefunds({ status: 'failed', reasonCode: 'RISK_REJECT', after: 'R-000001' }))).toEqual(['R-000004']);
      expect(ids(await store.listRefunds({ reasonCode: 'RISK_REJECT' }))).toEqual(['R-000001', 'R-000004', 'R-000005']);
      expect(ids(await store.listRefunds({ status: 'stalled' }))).toEqual([]);
      await expect(store.listRefunds({ status: "x' or 1=1 --" as never })).rejects.toThrow(/no such refund status/);
    });

    it(CONSOLE_SUMMARIES, async () => {
      expect(await store.summarizeStalled()).toEqual({ stalled: 0, givenUp: 0 });
      expect(await store.countFailedByReason()).toEqual([]);
      await store.trackRefunds([1, 2, 3, 4, 5, 6].map((n) => newRefund(n)), ctx);
      await decide('R-000001', { status: 'stalled', stalledAt: now + 3_000 });
      await decide('R-000002', { status: 'stalled', stalledAt: now + 1_000, givenUpAt: now + 9_000 });
      await decide('R-000003', { status: 'failed', reasonCode: 'RISK_REJECT', finalizedAt: now });
      await decide('R-000004', { status: 'failed', reasonCode: 'RISK_REJECT', finalizedAt: now });
      await decide('R-000005', { status: 'failed', reasonCode: 'ACCESS_DENIED', finalizedAt: now });
      await decide('R-000006', { status: 'failed', finalizedAt: now });
      expect(await store.summarizeStalled()).toEqual({ stalled: 2, givenUp: 1, oldestStalledAt: now + 1_000 });
      expect(await store.countFailedByReason()).toEqual([
        { reasonCode: 'RISK_REJECT', refunds: 2 },
        { refunds: 1 },
        { reasonCode: 'ACCESS_DENIED', refunds: 1 },
      ]);
    });

    describe('polling: claims, leases and decisions', () => {
      const t0 = now + 10_000;
      async function seed(n: number) {
        // Refund i is due at t0 + i seconds.
        for (let i = 0; i < n; i++) await store.trackRefunds([newRefund(i)], { now, firstPollAt: t0 + i * 1000 });
      }

      it('claims only what is due, earliest first, up to the limit', async () => {
        await seed(5);
        const claimed = await store.claimDue({ owner: 'a', now: t0 + 2_500, limit: 2, leaseMs: 30_000 });
        expect(claimed.map((r) => r.id)).toEqual(['R-000000', 'R-000001']);
        const rest = await store.claimDue({ owner: 'b', now: t0 + 2_500, limit: 10, leaseMs: 30_000 });
        expect(rest.map((r) => r.id)).toEqual(['R-000002']);
        expect(await store.claimDue({ owner: 'c', now: t0 + 2_500, limit: 10, leaseMs: 30_000 })).toEqual([]);
      });

      it('never gives one refund to two claimers at once, and frees it when the lease runs out', async () => {
        await seed(20);
        const at = t0 + 60_000;
        const [a, b] = await Promise.all([
          store.claimDue({ owner: 'a', now: at, limit: 15, leaseMs: 30_000 }),
          store.claimDue({ owner: 'b', now: at, limit: 15, leaseMs: 30_000 }),
        ]);
        const ids = [...a, ...b].map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(20);
        // The holder crashed: after the lease, another instance takes its refunds.
        const later = await store.claimDue({ owner: 'c', now: at + 30_001, limit: 50, leaseMs: 30_000 });
        expect(later).toHaveLength(20);
      });

      it('applies a decision with its timeline and outbox atomically, once, and clears the lease', async () => {
        await seed(1);
        const [r] = await store.claimDue({ owner: 'a', now: t0, limit: 1, leaseMs: 30_000 });
        const decision = {
          key: r!.id,
          version: r!.version,
          patch: { status: 'completed' as const, inquiries: 1, nextPollAt: null, finalizedAt: t0, detectedBy: 'poll' as const, lastRefundStatus: 'SUCCESS' },
          timeline: [{ kind: 'status' as const, message: 'completed' }],
          outbox: [{ dedupeKey: 'event:R-000000:refund.completed', kind: 'event' as const, channel: 'refunds.completed', payload: { key: 'R-000000', value: '{}' }, availableAt: t0 }],
          now: t0,
        };
        expect(await store.applyDecision(decision)).toBe(true);
        const after = await store.getRefund(r!.id);
        expect(after).toMatchObject({ status: 'completed', inquiries: 1, finalizedAt: t0, version: r!.version + 1 });
        expect(after!.nextPollAt).toBeUndefined();
        // Decided on an old version (a notification won the race): nothing is written.
        expect(await store.applyDecision({ ...decision, timeline: [{ kind: 'status', message: 'again' }] })).toBe(false);
        expect((await store.timeline(r!.id)).map((e) => e.kind)).toEqual(['tracked', 'status']);
        expect(await store.listOutbox({ refundKey: r!.id })).toHaveLength(1);
        // Same effect from another decision on the fresh version: the dedupe key keeps it single.
        expect(await store.applyDecision({ ...decision, version: r!.version + 1, patch: {} })).toBe(true);
        expect(await store.listOutbox({ refundKey: r!.id })).toHaveLength(1);
        // A final refund is no longer due.
        expect(await store.claimDue({ owner: 'b', now: t0 + 10 ** 9, limit: 10, leaseMs: 1 })).toEqual([]);
        expect(await store.nextDueAt(t0)).toBeUndefined();
        // Nor can it be re-checked.
        expect(await store.recheckNow(r!.id, t0)).toBe(false);
      });

      it('applies several decisions in one call, each guarded by its own version', async () => {
        expect(await store.applyDecisions([])).toEqual([]);
        await seed(3);
        const [r0, r1, r2] = (await store.listRefunds({})) as [TrackedRefund, TrackedRefund, TrackedRefund];
        const decision = (r: TrackedRefund, status: 'completed' | 'stalled', version = r.version) => ({
          key: r.id,
          version,
          patch: { status, inquiries: 1 },
          timeline: [{ kind: 'status' as const, message: status }],
          outbox: [{ dedupeKey: `event:${r.id}:${status}`, kind: 'event' as const, channel: 'refunds.outcomes', payload: { id: r.id }, availableAt: t0 }],
          now: t0,
        });
        // R-000001 was decided on a version that is no longer current.
        const applied = await store.applyDecisions([decision(r0, 'completed'), decision(r1, 'completed', r1.version + 1), decision(r2, 'stalled')]);
        expect(applied).toEqual([true, false, true]);
        expect(await store.getRefund('R-000000')).toMatchObject({ status: 'completed', inquiries: 1, version: r0.version + 1 });
        expect(await store.getRefund('R-000002')).toMatchObject({ status: 'stalled', inquiries: 1, version: r2.version + 1 });
        // The stale one wrote nothing: not its state, not its timeline, not its effects.
        expect(await store.getRefund('R-000001')).toEqual(r1);
        expect((await store.timeline('R-000001')).map((e) => e.kind)).toEqual(['tracked']);
        expect((await store.timeline('R-000002')).map((e) => e.kind)).toEqual(['tracked', 'status']);
        expect((await store.listOutbox({})).map((e) => e.dedupeKey)).toEqual(['event:R-000000:completed', 'event:R-000002:stalled']);
      });

      it('lists overdue refunds: unstalled ones past stalledBefore, any past giveUpBefore, never final or given up', async () => {
        // Recorded at `now`: A pending, B stalled, C given up, D final; E recorded a second later.
        await store.trackRefunds(['A', 'B', 'C', 'D'].map((id, n) => newRefund(n, { id, refundId: id })), ctx);
        await store.trackRefunds([newRefund(9, { id: 'E', refundId: 'E' })], { now: now + 1000, firstPollAt: now + 1000 });
        const patches = { B: { status: 'stalled', stalledAt: now + 1 }, C: { status: 'stalled', stalledAt: now + 1, givenUpAt: now + 2 }, D: { status: 'completed', finalizedAt: now + 1 } } as const;
        for (const [key, patch] of Object.entries(patches)) await decide(key, patch);
        const overdue = async (stalledBefore: number, giveUpBefore: number, limit = 10) =>
          (await store.listOverdue({ stalledBefore, giveUpBefore, limit })).map((r) => r.id);
        expect(await overdue(now - 1, now - 1)).toEqual([]);
        expect(await overdue(now, now - 1)).toEqual(['A']);
        expect((await overdue(now - 1, now)).sort()).toEqual(['A', 'B']);
        // Oldest record first, up to the limit.
        expect(await overdue(now + 1000, now - 1)).toEqual(['A', 'E']);
        expect(await overdue(now + 1000, now - 1, 1)).toEqual(['A']);
        expect((await overdue(now + 1000, now + 1000)).sort()).toEqual(['A', 'B', 'E']);
      });

      it(REFUND_LOOKUPS, async () => {
        await seed(3);
        const [r] = await store.claimDue({ owner: 'a', now: t0, limit: 1, leaseMs: 30_000 });
        await store.releaseLease(r!.id, 'someone-else');
        expect(await store.claimDue({ owner: 'b', now: t0, limit: 1, leaseMs: 30_000 })).toEqual([]);
        await store.releaseLease(r!.id, 'a');
        expect((await store.claimDue({ owner: 'b', now: t0, limit: 1, leaseMs: 30_000 })).map((x) => x.id)).toEqual([r!.id]);

        expect((await store.findRefund({ refundId: 'R-000001' }))?.id).toBe('R-000001');
        expect((await store.findRefund({ refundRequestId: 'RQ-2' }))?.id).toBe('R-000002');
        expect(await store.findRefund({ refundId: 'nope' })).toBeUndefined();

        // R-000000 is held by b until t0 + 30 s; R-000001 is next, at t0 + 1 s.
        expect(await store.nextDueAt(t0)).toBe(t0 + 1000);
        expect(await store.recheckNow('R-000002', t0 - 5)).toBe(true);
        expect(await store.nextDueAt(t0)).toBe(t0 - 5);
        // Everything due is held: the next chance is when the first lease ends.
        await store.claimDue({ owner: 'c', now: t0 + 5000, limit: 10, leaseMs: 1000 });
        expect(await store.nextDueAt(t0 + 5000)).toBe(t0 + 6000);
        expect(await store.recheckNow('missing', t0)).toBe(false);

        expect(await store.listOverdue({ stalledBefore: now - 1, giveUpBefore: now - 1, limit: 10 })).toEqual([]);
        expect((await store.listOverdue({ stalledBefore: now, giveUpBefore: now - 1, limit: 10 })).map((x) => x.id).sort()).toEqual([
          'R-000000',
          'R-000001',
          'R-000002',
        ]);
      });
    });

    describe('outbox', () => {
      async function withEntries(n: number) {
        await store.trackRefunds([newRefund(1)], ctx);
        await decide(
          'R-000001',
          {},
          Array.from({ length: n }, (_, i) => ({
            dedupeKey: `k${i}`,
            kind: (i % 2 === 0 ? 'event' : 'delivery') as 'event' | 'delivery',
            channel: `c${i}`,
            payload: { i, text: 'ünïcødé' },
            availableAt: now + i,
          })),
        );
      }

      it('claims due entries in order, by kind, under a lease', async () => {
        await withEntries(6);
        const events = await store.claimOutbox({ owner: 'a', now: now + 100, limit: 10, leaseMs: 1000, kinds: ['event'] });
        expect(events.map((e) => e.dedupeKey)).toEqual(['k0', 'k2', 'k4']);
        expect(events[0]).toMatchObject({ kind: 'event', channel: 'c0', payload: { i: 0, text: 'ünïcødé' }, attempts: 1, status: 'pending', refundKey: 'R-000001' });
        const rest = await store.claimOutbox({ owner: 'b', now: now + 100, limit: 10, leaseMs: 1000 });
        expect(rest.map((e) => e.dedupeKey)).toEqual(['k1', 'k3', 'k5']);
        // Not yet available.
        expect(await store.claimOutbox({ owner: 'c', now: now + 2, limit: 10, leaseMs: 1000 })).toEqual([]);
        // Lease expired: claimable again, attempt counted.
        const again = await store.claimOutbox({ owner: 'c', now: now + 2000, limit: 1, leaseMs: 1000 });
        expect(again[0]).toMatchObject({ dedupeKey: 'k0', attempts: 2 });
        // Listing reads without claiming: filtered by kind, in creation order, up to the limit.
        expect((await store.listOutbox({ kind: 'delivery' })).map((e) => e.dedupeKey)).toEqual(['k1', 'k3', 'k5']);
        expect((await store.listOutbox({ limit: 2 })).map((e) => e.dedupeKey)).toEqual(['k0', 'k1']);
        expect(await store.listOutbox({ refundKey: 'R-999999' })).toEqual([]);
      });

      it(OUTBOX_SUMMARY, async () => {
        expect(await store.summarizeOutbox()).toEqual([]);
        await withEntries(6);
        const claimed = await store.claimOutbox({ owner: 'a', now: now + 10, limit: 10, leaseMs: 1000 });
        const [e0, e1, e2] = claimed;
        await store.markOutboxSent([e0!.id], now + 10, 'a');
        await store.retryOutboxLater(e1!.id, { nextAttemptAt: now + 5000, error: 'slack down', now: now + 10, owner: 'a' });
        await store.markOutboxDead(e2!.id, { error: 'gave up', now: now + 10, owner: 'a' });
        // e3..e5 go back to pending when their lease runs out; sent c0 is not listed at all.
        expect(await store.summarizeOutbox()).toEqual([
          { kind: 'delivery', channel: 'c1', pending: 1, failing: 1, failingSince: now + 10, oldestDueAt: now + 5000, dead: 0 },
          { kind: 'delivery', channel: 'c3', pending: 1, failing: 0, oldestDueAt: now + 3, dead: 0 },
          { kind: 'delivery', channel: 'c5', pending: 1, failing: 0, oldestDueAt: now + 5, dead: 0 },
          { kind: 'event', channel: 'c2', pending: 0, failing: 0, dead: 1 },
          { kind: 'event', channel: 'c4', pending: 1, failing: 0, oldestDueAt: now + 4, dead: 0 },
        ]);
        const first = await store.listOutbox({ limit: 2 });
        expect(first.map((e) => e.dedupeKey)).toEqual(['k0', 'k1']);
        expect((await store.listOutbox({ limit: 2, after: first[1]!.id })).map((e) => e.dedupeKey)).toEqual(['k2', 'k3']);
        expect((await store.listOutbox({ status: 'dead', after: e2!.id })).map((e) => e.dedupeKey)).toEqual([]);
      });

      it(MARKS, async () => {
        await withEntries(4);
        const [e0, e1, e2, e3] = await store.claimOutbox({ owner: 'a', now: now + 10, limit: 10, leaseMs: 1000 });
        expect(await store.markOutboxSent([e0!.id], now + 10, 'a')).toBe(1);
        expect(await store.retryOutboxLater(e1!.id, { nextAttemptAt: now + 5000, error: 'broker down', now: now + 10, owner: 'a' })).toBe(true);
        expect(await store.markOutboxDead(e2!.id, { error: 'channel_not_found', now: now + 10, owner: 'a' })).toBe(true);
        await store.expandOutbox(
          [{ doneId: e3!.id, refundKey: 'R-000001', entries: [{ dedupeKey: 'delivery-x', kind: 'delivery', channel: 'slack:#x', payload: {}, availableAt: now }] }],
          now + 10,
          'a',
        );
        expect(await store.countOutbox()).toEqual({ pending: 2, sent: 2, dead: 1 });
        const [expanded] = await store.claimOutbox({ owner: 'b', now: now + 20, limit: 10, leaseMs: 1000 });
        expect(expanded).toMatchObject({ dedupeKey: 'delivery-x', channel: 'slack:#x' });
        await store.markOutboxSent([expanded!.id], now + 20, 'b');
        const retried = await store.claimOutbox({ owner: 'b', now: now + 5000, limit: 10, leaseMs: 1000 });
        expect(retried).toMatchObject([{ dedupeKey: 'k1', lastError: 'broker down', attempts: 2, failingSince: now + 10 }]);
        expect((await store.listOutbox({ status: 'dead' })).map((e) => e.dedupeKey)).toEqual(['k2']);
        expect(await store.requeueOutbox(e2!.id, now + 30)).toBe(true);
        expect(await store.requeueOutbox(e2!.id, now + 30)).toBe(false);
        expect(await store.pruneOutbox(now + 11)).toBe(2);
        expect(await store.countOutbox()).toEqual({ pending: 2, sent: 1, dead: 0 });
      });

      it(LEASE_HOLDER, async () => {
        await withEntries(4);
        const [e0, e1, e2, e3] = await store.claimOutbox({ owner: 'a', now: now + 10, limit: 10, leaseMs: 1000 });
        // a's lease ran out and b claimed everything: a's late marks change nothing.
        const taken = await store.claimOutbox({ owner: 'b', now: now + 2000, limit: 10, leaseMs: 1000 });
        expect(taken).toHaveLength(4);
        expect(await store.markOutboxSent([e0!.id, e1!.id], now + 2001, 'a')).toBe(0);
        expect(await store.retryOutboxLater(e1!.id, { nextAttemptAt: now + 10 ** 9, error: 'late', now: now + 2001, owner: 'a' })).toBe(false);
        expect(await store.markOutboxDead(e2!.id, { error: 'late', now: now + 2001, owner: 'a' })).toBe(false);
        expect(await store.markOutboxSending(e3!.id, now + 2001, 'a')).toBe(false);
        await store.expandOutbox([{ doneId: e3!.id, refundKey: 'R-000001', entries: [{ dedupeKey: 'late-x', kind: 'delivery', channel: 'c', payload: {}, availableAt: now }] }], now + 2001, 'a');
        expect(await store.countOutbox()).toEqual({ pending: 4, sent: 0, dead: 0 });
        expect((await store.listOutbox({})).map((e) => e.dedupeKey)).not.toContain('late-x');
        // b renews what it holds; a renews nothing.
        expect(await store.renewOutboxLeases([e0!.id, e1!.id], 'a', now + 60_000)).toBe(0);
        expect(await store.renewOutboxLeases([e0!.id, e1!.id], 'b', now + 60_000)).toBe(2);
        // Renewed: nobody else can claim them when the original lease would have run out.
        const others = await store.claimOutbox({ owner: 'c', now: now + 3500, limit: 10, leaseMs: 1000 });
        expect(others.map((e) => e.id).sort()).toEqual([e2!.id, e3!.id].sort());
        // c marks one sending (it holds it), then dead, replaced by a fallback in the same write.
        expect(await store.markOutboxSending(e2!.id, now + 3500, 'c')).toBe(true);
        await store.expandOutbox(
          [{ doneId: e3!.id, refundKey: 'R-000001', doneError: 'fell back', entries: [{ dedupeKey: 'fb', kind: 'delivery', channel: 'c', payload: {}, availableAt: now }] }],
          now + 3500,
          'c',
        );
        const dead = await store.listOutbox({ status: 'dead' });
        expect(dead).toMatchObject([{ id: e3!.id, lastError: 'fell back' }]);
        expect((await store.listOutbox({ status: 'pending' })).map((e) => e.dedupeKey)).toContain('fb');
        const sending = (await store.listOutbox({})).find((e) => e.id === e2!.id)!;
        expect(sending.sendingAt).toBe(now + 3500);
      });

      it(OUTAGES, async () => {
        expect(await store.getOutage('customer')).toBeUndefined();
        await store.openOutage('customer', now, 'SMTP 451 try again later');
        await store.openOutage('customer', now + 5, 'SMTP connection refused');
        const outage = await store.getOutage('customer');
        expect(outage).toEqual({ channel: 'customer', since: now, lastError: 'SMTP connection refused' });
        const notice = (key: string) => [{ dedupeKey: key, kind: 'delivery' as const, channel: 'slack:#esc', payload: { n: key }, availableAt: now }];
        expect(await store.announceOutage('customer', now, now + 100, notice('announced'))).toBe(true);
        expect(await store.announceOutage('customer', now, now + 200, notice('announced-again'))).toBe(false);
        expect(await store.getOutage('customer')).toMatchObject({ announcedAt: now + 100 });
        // Another outage's close (a stale `since`) changes nothing.
        expect(await store.closeOutage('customer', now - 1, notice('wrong'), now + 300)).toBe(false);
        expect(await store.closeOutage('customer', now, notice('resolved'), now + 300)).toBe(true);
        expect(await store.closeOutage('customer', now, notice('resolved-again'), now + 300)).toBe(false);
        expect(await store.getOutage('customer')).toBeUndefined();
        expect((await store.listOutbox({})).map((e) => e.dedupeKey).sort()).toEqual(['announced', 'resolved']);
      });

      it('counts what waits on a channel and makes it due at once', async () => {
        await store.trackRefunds([newRefund(1)], ctx);
        await decide(
          'R-000001',
          {},
          [0, 1, 2].map((i) => ({ dedupeKey: `m${i}`, kind: 'delivery' as const, channel: i < 2 ? 'customer' : 'slack:#x', payload: {}, availableAt: now })),
        );
        const [m0] = await store.claimOutbox({ owner: 'a', now, limit: 1, leaseMs: 1000 });
        await store.retryOutboxLater(m0!.id, { nextAttemptAt: now + 60_000, error: '451', now, owner: 'a' });
        expect(await store.countWaiting('customer')).toEqual({ pending: 2, failing: 1 });
        expect(await store.hurryChannel('customer', now + 10)).toBe(1);
        const due = await store.claimOutbox({ owner: 'a', now: now + 10, limit: 10, leaseMs: 1000 });
        expect(due.map((e) => e.dedupeKey).sort()).toEqual(['m0', 'm1', 'm2']);
      });

      it('tells when the pending entry due first is due, leased or not', async () => {
        expect(await store.earliestOutboxDue()).toBeUndefined();
        await withEntries(3);
        expect(await store.earliestOutboxDue()).toBe(now);
        // Leased: still pending, still due when it was.
        const [e0, e1] = await store.claimOutbox({ owner: 'a', now: now + 10, limit: 2, leaseMs: 1000 });
        expect(await store.earliestOutboxDue()).toBe(now);
        // Sent, or put back for later: the next one counts.
        await store.markOutboxSent([e0!.id], now + 10, 'a');
        await store.retryOutboxLater(e1!.id, { nextAttemptAt: now + 60_000, error: 'broker down', now: now + 10, owner: 'a' });
        expect(await store.earliestOutboxDue()).toBe(now + 2);
        const [e2] = await store.claimOutbox({ owner: 'a', now: now + 10, limit: 1, leaseMs: 1000 });
        await store.markOutboxDead(e2!.id, { error: 'gone', now: now + 10, owner: 'a' });
        expect(await store.earliestOutboxDue()).toBe(now + 60_000);
      });

      it('claims the backlog of one receiver: its pending deliveries created before a time, due or not', async () => {
        await store.trackRefunds([newRefund(1)], ctx);
        const delivery = (dedupeKey: string, channel: string, availableAt = now, kind: 'delivery' | 'event' = 'delivery') => ({ dedupeKey, kind, channel, payload: {}, availableAt });
        // b1 is not due for a long while; ev is no delivery; x goes to another receiver.
        await decide('R-000001', {}, [delivery('b1', 'customer', now + 10 ** 6), delivery('b2', 'customer'), delivery('ev', 'customer', now, 'event'), delivery('x', 'slack:#x')]);
        await decide('R-000001', {}, [delivery('b3', 'customer')], now + 100);
        // Someone else holds b2.
        expect((await store.claimOutbox({ owner: 'x', now, limit: 1, leaseMs: 1000, kinds: ['delivery'] })).map((e) => e.dedupeKey)).toEqual(['b2']);

        const backlog = (owner: string, at: number, createdBefore: number) =>
          store.claimBacklog({ owner, now: at, limit: 10, leaseMs: 1000, channel: 'customer', createdBefore });
        const [b1, ...others] = await backlog('a', now + 200, now + 50);
        expect(others).toEqual([]);
        expect(b1).toMatchObject({ dedupeKey: 'b1', kind: 'delivery', channel: 'customer', status: 'pending', attempts: 1, availableAt: now + 10 ** 6 });
        // Leased to a: nobody else gets it, and a's marks apply.
        expect(await backlog('b', now + 300, now + 50)).toEqual([]);
        expect(await store.markOutboxSent([b1!.id], now + 300, 'a')).toBe(1);
        // Once x's lease ran out, b2 is claimable; b3 was created at now + 100, not before it.
        expect((await backlog('b', now + 2000, now + 100)).map((e) => [e.dedupeKey, e.attempts])).toEqual([['b2', 2]]);
        expect((await backlog('b', now + 2000, now + 101)).map((e) => e.dedupeKey)).toEqual(['b3']);
      });
    });

    describe('notification groups', () => {
      const member = (n: number): GroupMember => ({
        refundKey: `R-${n}`,
        refundId: `R-${n}`,
        refundRequestId: `RQ-${n}`,
        paymentId: `P-${n}`,
        refundAmount: { currency: 'USD', value: `${n}.00` },
        detectedAt: now + n,
      });
      const keyOf = (code: string): GroupKey => ({ template: 'escalation', parts: [{ field: 'reasonCode', value: code }] });
      const slack = { receiver: { type: 'slack', channel: '#esc' } as OpsReceiver, key: keyOf('RISK_REJECT'), playbook: 'risk', windowMs: 60_000 };
      const add = (n: number, at: number, over: Partial<typeof slack> = {}) => store.addGroupMember({ ...slack, ...over, member: member(n), now: at });
      /** The stored state of an open group: at the end of time every open group is due. */
      const openGroup = async (id: number) => (await store.listGroupsToFlush(now + 10 ** 9, 0)).find((g) => g.id === id);

      it('opens a group for its first member and adds each later one once, in order', async () => {
        const first = await add(1, now);
        expect(first).toMatchObject({ created: true, added: true });
        expect(first.group).toEqual({
          id: first.group.id,
          receiver: { type: 'slack', channel: '#esc' },
          key: keyOf('RISK_REJECT'),
          playbook: 'risk',
          windowStart: now,
          windowEnd: now + 60_000,
          dirty: true,
          flushedAt: now,
          membersSent: 0,
          closed: false,
        });
        const second = await add(2, now + 10);
        expect(second).toMatchObject({ created: false, added: true, group: { id: first.group.id } });
        // The same refund again changes nothing and answers the group as it stands (a retried delivery).
        await store.markGroupFlushed(first.group.id, { now: now + 20, membersSent: 2 });
        const again = await add(1, now + 30);
        expect(again).toMatchObject({ created: false, added: false, group: { id: first.group.id, membersSent: 2, dirty: false } });
        // A refund already in a group is answered with that group after its window and after a close
        // (a retried delivery), never added to a new one.
        expect(await add(1, now + 120_000)).toMatchObject({ created: false, added: false, group: { id: first.group.id } });
        await store.closeGroup(first.group.id);
        expect(await add(2, now + 130_000)).toMatchObject({ created: false, added: false, group: { id: first.group.id, closed: true } });
        expect(await store.groupMembers(first.group.id)).toEqual([member(1), member(2)]);
        expect(await store.groupMembers(first.group.id + 1000)).toEqual([]);
      });

      it('keeps one open group per receiver and key, and opens a new one after its window or a close', async () => {
        const g1 = (await add(1, now)).group;
        const otherKey = await add(1, now, { key: keyOf('OTHER') });
        const otherReceiver = await store.addGroupMember({ receiver: { type: 'email', to: ['ops@example.com', 'oncall@example.com'] }, key: keyOf('RISK_REJECT'), member: member(1), windowMs: 1000, now });
        expect([otherKey.created, otherReceiver.created]).toEqual([true, true]);
        expect(new Set([g1.id, otherKey.group.id, otherReceiver.group.id]).size).toBe(3);
        expect(otherReceiver.group.playbook).toBeUndefined();
        // Receiver and key come back as the structure they went in as.
        expect(otherReceiver.group.receiver).toEqual({ type: 'email', to: ['ops@example.com', 'oncall@example.com'] });
        expect(otherReceiver.group.key).toEqual(keyOf('RISK_REJECT'));
        // A key by two fields is its own group, and keeps both fields.
        const byCurrency: GroupKey = { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }, { field: 'currency', value: 'USD' }] };
        const twoFields = await add(1, now, { key: byCurrency });
        expect(twoFields.created).toBe(true);
        expect((await openGroup(twoFields.group.id))?.key).toEqual(byCurrency);
        // The window is [now, now + 60 s): a member at its end opens the next group.
        const late = await add(2, now + 60_000);
        expect(late.created).toBe(true);
        expect(late.group.id).not.toBe(g1.id);
        expect(await store.groupMembers(g1.id)).toEqual([member(1)]);
        await store.closeGroup(late.group.id);
        const afterClose = await add(3, now + 60_001);
        expect(afterClose.created).toBe(true);
        expect([g1.id, late.group.id]).not.toContain(afterClose.group.id);
      });

      it(GROUP_FLUSHES, async () => {
        const g = (await add(1, now)).group;
        const quiet = (await add(1, now, { key: keyOf('QUIET') })).group;
        await store.markGroupFlushed(quiet.id, { now, membersSent: 1 });
        const due = async (at: number) => (await store.listGroupsToFlush(at, 1000)).map((x) => x.id);
        // Dirty, but updated within the debounce interval; then due. A clean group is not due.
        expect(await due(now + 999)).toEqual([]);
        expect(await due(now + 1000)).toEqual([g.id]);
        await store.markGroupFailed(g.id, 'ratelimited', now + 500);
        expect(await openGroup(g.id)).toMatchObject({ dirty: true, lastError: 'ratelimited', failingSince: now + 500 });
        // A later failure keeps the start of the run; a flush (below) ends it.
        await store.markGroupFailed(g.id, 'ratelimited again', now + 900);
        expect(await openGroup(g.id)).toMatchObject({ lastError: 'ratelimited again', failingSince: now + 500 });
        expect(await due(now + 1000)).toEqual([g.id]);
        await store.markGroupFlushed(g.id, { now: now + 1000, messageChannel: 'C1', messageTs: '1.1', membersSent: 1 });
        expect(await openGroup(g.id)).toEqual({ ...g, dirty: false, flushedAt: now + 1000, messageChannel: 'C1', messageTs: '1.1', membersSent: 1 });
        expect(await due(now + 5000)).toEqual([]);
        // A new member makes it due again once the interval has passed since the last update.
        await add(2, now + 1500);
        expect(await due(now + 1999)).toEqual([]);
        expect(await due(now + 2000)).toEqual([g.id]);
        // A flush that names no message keeps the one it has.
        await store.markGroupFlushed(g.id, { now: now + 2000 });
        expect(await openGroup(g.id)).toMatchObject({ dirty: false, flushedAt: now + 2000, messageChannel: 'C1', messageTs: '1.1', membersSent: 1 });
        // Window over: every open group is due, clean or not, in the order they were opened.
        expect(await due(now + 60_000)).toEqual([g.id, quiet.id]);
        await store.closeGroup(g.id);
        expect(await due(now + 60_000)).toEqual([quiet.id]);
        // A closed group keeps what it ended with: a late failure does not overwrite it.
        const ended = (await add(7, now + 100, { key: keyOf('ENDED') })).group;
        await store.markGroupFailed(ended.id, 'fell back to email:x@example.com: 503', now + 100);
        await store.closeGroup(ended.id);
        await store.markGroupFailed(ended.id, 'late 503', now + 101);
        const again = await add(7, now + 102, { key: keyOf('ENDED') });
        expect(again.group).toMatchObject({ id: ended.id, closed: true, lastError: 'fell back to email:x@example.com: 503', failingSince: now + 100 });
      });
    });

    describe('Slack threads', () => {
      const thread = (refundKey: string, channel: string, at: number, ts = `${at}.0`) => store.saveThread({ refundKey, channel, channelId: `ID${channel}`, ts, now: at });

      it('keeps the first thread of a refund in a channel', async () => {
        await store.trackRefunds([newRefund(1)], ctx);
        expect(await store.getThread('R-000001', '#esc')).toBeUndefined();
        await thread('R-000001', '#esc', now, '1.1');
        await thread('R-000001', '#esc', now + 5, '2.2');
        expect(await store.getThread('R-000001', '#esc')).toEqual({ refundKey: 'R-000001', channel: '#esc', channelId: 'ID#esc', ts: '1.1', postedAt: now, reminders: 0 });
        expect(await store.getThread('R-000001', '#other')).toBeUndefined();
        await thread('R-000001', '#other', now + 5, '3.3');
        expect(await store.getThread('R-000001', '#other')).toMatchObject({ ts: '3.3', postedAt: now + 5 });
      });

      it(REMINDERS, async () => {
        await store.trackRefunds([newRefund(1), newRefund(2), newRefund(3)], ctx);
        for (const key of ['R-000001', 'R-000002']) await decide(key, { status: 'stalled', stalledAt: now });
        // R-000003 is still pending: its thread is never reminded.
        await thread('R-000003', '#esc', now);
        await thread('R-000002', '#esc', now + 10);
        await thread('R-000001', '#esc', now + 20);
        await thread('R-000001', '#other', now + 30);
        const due = async (at: number, limit = 10) => (await store.listRemindersDue(at, 1000, limit)).map((d) => `${d.refund.id} ${d.thread.channel}`);
        expect(await due(now + 1009)).toEqual([]);
        expect(await due(now + 1020)).toEqual(['R-000002 #esc', 'R-000001 #esc']);
        expect(await due(now + 1020, 1)).toEqual(['R-000002 #esc']);
        const [first] = await store.listRemindersDue(now + 1010, 1000, 10);
        expect(first!.thread).toEqual({ refundKey: 'R-000002', channel: '#esc', channelId: 'ID#esc', ts: `${now + 10}.0`, postedAt: now + 10, reminders: 0 });
        expect(first!.refund).toEqual(await store.getRefund('R-000002'));

        await store.markReminded('R-000002', '#esc', now + 1100);
        expect(await store.getThread('R-000002', '#esc')).toMatchObject({ reminders: 1, remindedAt: now + 1100, postedAt: now + 10 });
        expect(await store.getThread('R-000001', '#esc')).toMatchObject({ reminders: 0 });
        expect(await due(now + 2099)).toEqual(['R-000001 #esc', 'R-000001 #other']);
        expect(await due(now + 2100)).toEqual(['R-000002 #esc', 'R-000001 #esc', 'R-000001 #other']);
        await store.markReminded('R-000002', '#esc', now + 2100);
        expect(await store.getThread('R-000002', '#esc')).toMatchObject({ reminders: 2, remindedAt: now + 2100 });
      });
    });

    it(RATE_BUCKET, async () => {
      const take = (want: number, at: number, bucket = 'antom:SANDBOX_X') => store.takeRateTokens({ bucket, want, ratePerSecond: 20, burst: 10, now: at });
      // A new bucket starts full (burst 10); five takers at once share those ten, never more.
      const first = await Promise.all([4, 4, 4, 4, 4].map((want) => take(want, now)));
      expect(first.reduce((n, g) => n + g.granted, 0)).toBe(10);
      expect((await take(4, now)).granted).toBe(0);
      // 20 tokens a second, at most 10 saved up: 250 ms later 5 have accrued.
      const later = await take(8, now + 250);
      expect(later).toMatchObject({ granted: 5, rate: 20 });
      expect(later.tokensLeft).toBeCloseTo(0, 5);
      expect((await take(20, now + 10_250)).granted).toBe(10);
      // Another client id is another budget.
      expect((await take(4, now + 10_250, 'antom:OTHER')).granted).toBe(4);
      // A traffic-limit answer slows the bucket for every taker: a quarter of the rate until then.
      await store.slowRateBucket({ bucket: 'antom:SANDBOX_X', until: now + 20_000, factor: 0.25, burst: 10, now: now + 10_250 });
      const slowed = await take(10, now + 11_250);
      expect(slowed).toMatchObject({ granted: 5, rate: 5 });
      expect((await take(10, now + 21_250)).rate).toBe(20);
    });

    it(RETENTION, async () => {
      const customer = { email: 'jane@example.com', name: 'Jane Doe', locale: 'de' };
      await store.trackRefunds([1, 2, 3].map((n) => newRefund(n, { customer })), ctx);
      const subject = { refundKey: 'R-000001', customer };
      const payloads = { notice: { event: 'refund.completed', customer }, delivery: { delivery: { template: 'customer-completed' }, subject } };
      const entry = (key: string, kind: 'notice' | 'delivery'): OutboxEntryInput => ({ dedupeKey: `${kind}:${key}`, kind, channel: 'customer', payload: payloads[kind], availableAt: now });
      // R-1 final at now, R-2 final an hour later, R-3 still pending.
      await decide('R-000001', { status: 'completed', finalizedAt: now }, [entry('R-000001', 'notice'), entry('R-000001', 'delivery')]);
      await decide('R-000002', { status: 'failed', finalizedAt: now + 3_600_000 }, [entry('R-000002', 'delivery')]);
      await store.appendTimeline('R-000001', [{ kind: 'status', message: 'completed' }], now);
      await store.appendTimeline('R-000002', [{ kind: 'status', message: 'failed' }], now + 3_600_000);
      await store.saveThread({ refundKey: 'R-000001', channel: '#esc', channelId: 'C1', ts: '1.1', now });

      // Only what became final before the cut-off, in batches of `limit`, until nothing is left.
      expect(await store.eraseCustomerData({ finalBefore: now + 1, limit: 10 })).toBe(1);
      expect(await store.eraseCustomerData({ finalBefore: now + 1, limit: 10 })).toBe(0);
      const erased = (await store.getRefund('R-000001'))!;
      expect(erased.customer?.email).toBeUndefined();
      expect(erased.customer?.name).toBeUndefined();
      expect(erased).toMatchObject({ status: 'completed', paymentId: 'P-1' });
      for (const e of await store.listOutbox({ refundKey: 'R-000001' })) expect(JSON.stringify(e.payload)).not.toMatch(/jane|Jane/);
      expect((await store.listOutbox({ refundKey: 'R-000001', kind: 'delivery' }))[0]!.payload).toEqual({ delivery: { template: 'customer-completed' }, subject: { refundKey: 'R-000001' } });
      expect((await store.getRefund('R-000002'))?.customer?.email).toBe('jane@example.com');
      expect(JSON.stringify((await store.listOutbox({ refundKey: 'R-000002' }))[0]!.payload)).toMatch(/jane@example.com/);
      expect((await store.getRefund('R-000003'))?.customer?.email).toBe('jane@example.com');

      // The history of R-1 goes; its row stays, so a replayed record tracks nothing.
      const history = await store.pruneHistory({ finalBefore: now + 1, limit: 10 });
      expect(history).toMatchObject({ refunds: 1, threads: 1 });
      expect(history.timeline).toBeGreaterThan(0);
      // (The `tracked` entry is derived from the refund row, which stays.)
      expect((await store.timeline('R-000001')).map((e) => e.kind)).toEqual(['tracked']);
      expect(await store.getThread('R-000001', '#esc')).toBeUndefined();
      expect((await store.timeline('R-000002')).length).toBeGreaterThan(1);
      expect(await store.pruneHistory({ finalBefore: now + 1, limit: 10 })).toEqual({ refunds: 0, timeline: 0, threads: 0, groups: 0 });
      const replay = await store.trackRefunds([newRefund(1, { customer })], { now: now + 10, firstPollAt: now + 10 });
      expect(replay).toMatchObject({ inserted: [], duplicates: 1 });
      expect((await store.getRefund('R-000001'))?.customer?.email).toBeUndefined();
    });

    it('prunes closed groups whose window ended before the cut-off, with their members', async () => {
      const key = { template: 'escalation' as const, parts: [{ field: 'reasonCode' as const, value: 'RISK_REJECT' }] };
      const add = (n: number, at: number) =>
        store.addGroupMember({ receiver: { type: 'slack', channel: '#esc' }, key, member: { refundKey: `R-${n}`, paymentId: `P-${n}`, detectedAt: at }, windowMs: 1000, now: at });
      const old = (await add(1, now)).group;
      const open = (await add(2, now + 5000)).group;
      await store.closeGroup(old.id);
      expect(await store.pruneHistory({ finalBefore: now + 2000, limit: 10 })).toMatchObject({ groups: 1 });
      expect(await store.groupMembers(old.id)).toEqual([]);
      expect(await store.groupMembers(open.id)).toHaveLength(1);
    });

    describe('scheduled jobs and entries of no decision', () => {
      it(JOB_RUNS, async () => {
        const run = (owner: string, period: string, job = 'digest', at = now) => store.claimJobRun({ job, period, owner, now: at });
        // Two instances tick for the same period: one runs it; a repeat by the winner is refused too.
        expect(await Promise.all([run('a', '2026-12-02'), run('b', '2026-12-02')]).then((r) => r.sort())).toEqual([false, true]);
        expect(await run('a', '2026-12-02')).toBe(false);
        // Another period, or another job in the same period, is a run of its own.
        expect(await run('b', '2026-12-03', 'digest', now + 10)).toBe(true);
        expect(await run('b', '2026-12-02', 'sweep-deadlines', now + 20)).toBe(true);
        // Claims older than the cut-off are pruned; the period may then be claimed again.
        expect(await store.pruneJobRuns(now + 10)).toBe(1);
        expect(await run('c', '2026-12-02')).toBe(true);
        expect(await run('c', '2026-12-03')).toBe(false);
      });

      it('enqueues entries of no decision once per dedupe key', async () => {
        const digest = (n: number) => ({ dedupeKey: `digest:2026-12-0${n}`, kind: 'delivery' as const, channel: 'slack:#refunds', payload: { n }, availableAt: now });
        expect(await store.enqueueOutbox('digest', [digest(1)], now)).toBe(1);
        expect(await store.enqueueOutbox('digest', [digest(1), digest(2)], now + 5)).toBe(1);
        expect(await store.enqueueOutbox('digest', [], now)).toBe(0);
        const entries = await store.listOutbox({ refundKey: 'digest' });
        expect(entries.map((e) => [e.dedupeKey, e.status, e.payload, e.createdAt])).toEqual([
          ['digest:2026-12-01', 'pending', { n: 1 }, now],
          ['digest:2026-12-02', 'pending', { n: 2 }, now + 5],
        ]);
        expect((await store.claimOutbox({ owner: 'x', now: now + 5, limit: 10, leaseMs: 1000 })).map((e) => e.dedupeKey)).toEqual(['digest:2026-12-01', 'digest:2026-12-02']);
      });
    });

    it('close is idempotent', async () => {
      const first = store.close();
      expect(store.close()).toBe(first);
      await first;
      store = await open(); // afterEach closes this one
    });

    it('covers every method of the port with a test of this suite', ({ task }) => {
      const titles = new Set<string>();
      const collect = (suite: RunnerTestSuite): void => {
        for (const t of suite.tasks) {
          if (t.type === 'suite') collect(t);
          else titles.add(t.name);
        }
      };
      collect(task.suite!);
      expect(Object.entries(COVERAGE).filter(([, title]) => !titles.has(title))).toEqual([]);
      expect(Object.keys(store).sort()).toEqual(Object.keys(COVERAGE).sort());
    });
  });
}
