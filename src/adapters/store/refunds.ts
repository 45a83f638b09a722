import { sql, type Kysely, type Selectable } from 'kysely';
import type { ApplyInput, RefundStore } from '../../app/ports.js';
import type { DecisionTimelineEntry } from '../../domain/decide.js';
import type { NewRefund, TimelineEntry, TrackedRefund, TrackingStatus } from '../../domain/refund.js';
import { claimDueStatement, leaseIsFree } from './claims.js';
import { decodeJson, type DialectCapabilities } from './dialects.js';
import { insertOutbox } from './outbox.js';
import { outboxRows, patchColumns, patchJsonColumns, refundFromRow, timelineFromRow, timelineRows, type OutboxRow, type TimelineRow } from './rows.js';
import { OPEN } from './migrations/0009-overdue-indexes.js';
import { countFailedByReason, listRefunds, summarizeStalled } from './refund-lookups.js';
import type { Database, RefundsTable } from './schema.js';
import { foldStatusCounts, readStatusCounts } from './status-counts.js';
import { trackRefunds } from './track-refunds.js';

const TRACKING_STATUSES: readonly TrackingStatus[] = ['pending', 'stalled', 'completed', 'failed'];

/**
 * Tracked refunds once they are durable: reading them, their timelines, and the poll loop's side
 * (claims under a lease, versioned decisions, the schedule). The ingest's write is
 * track-refunds.ts; listings and lookups for people are refund-lookups.ts.
 */

/** The refund methods of the RefundStore, for kysely-store.ts to assemble. */
export function refundOperations(db: Kysely<Database>, caps: DialectCapabilities) {
  return {
    trackRefunds: (refunds, context) => trackRefunds(db, caps, refunds, context),
    getRefund: (key) => getRefund(db, caps, key),
    findRefund: (ids) => findRefund(db, caps, ids),
    listRefunds: (filter) => listRefunds(db, caps, filter),
    countByStatus: () => readStatusCounts(db, caps, 'refunds', TRACKING_STATUSES),
    foldCounts: () => foldStatusCounts(db, caps),
    summarizeStalled: () => summarizeStalled(db),
    countFailedByReason: () => countFailedByReason(db, caps),
    timeline: (key) => timeline(db, caps, key),
    appendTimeline: (key, entries, now) => appendTimeline(db, caps, key, entries, now),
    claimDue: async (options) =>
      (await claimDueStatement(db, caps, options).execute()).map((row) => refundFromRow(caps, row)).sort((a, b) => (a.nextPollAt ?? 0) - (b.nextPollAt ?? 0)),
    releaseLease: (key, owner) => releaseLease(db, key, owner),
    applyDecision: async (input) => (await applyDecisions(db, caps, [input]))[0]!,
    applyDecisions: (inputs) => applyDecisions(db, caps, inputs),
    nextDueAt: (now) => nextDueAt(db, now),
    listOverdue: (options) => listOverdue(db, caps, options),
    recheckNow: (key, now) => recheckNow(db, key, now),
  } satisfies Partial<RefundStore>;
}

async function getRefund(db: Kysely<Database>, caps: DialectCapabilities, key: string): Promise<TrackedRefund | undefined> {
  const row = await db.selectFrom('refunds').selectAll().where('key', '=', key).executeTakeFirst();
  return row ? refundFromRow(caps, row) : undefined;
}

async function findRefund(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  { refundId, refundRequestId }: { refundId?: string; refundRequestId?: string },
): Promise<TrackedRefund | undefined> {
  if (!refundId && !refundRequestId) return undefined;
  const row = await db
    .selectFrom('refunds')
    .selectAll()
    .where((eb) => {
      const ors = [];
      if (refundId) ors.push(eb('key', '=', refundId), eb('refund_id', '=', refundId));
      if (refundRequestId) ors.push(eb('refund_request_id', '=', refundRequestId));
      return eb.or(ors);
    })
    .executeTakeFirst();
  return row ? refundFromRow(caps, row) : undefined;
}

async function timeline(db: Kysely<Database>, caps: DialectCapabilities, key: string): Promise<TimelineEntry[]> {
  // The "tracked" entry is derived from the refund row itself rather than written on every
  // ingest: it halves the rows the hot path writes and cannot disagree with the row.
  const refund = await db
    .selectFrom('refunds')
    .select(['recorded_at', 'origin', 'next_poll_at'])
    .where('key', '=', key)
    .executeTakeFirst();
  if (!refund) return [];
  const origin = decodeJson<NewRefund['origin']>(caps, refund.origin);
  const tracked: TimelineEntry = {
    refundKey: key,
    at: Number(refund.recorded_at),
    kind: 'tracked',
    message: origin
      ? `tracked from ${origin.topic}[${origin.partition}]@${origin.offset}${origin.timestampNote ? `; ${origin.timestampNote}` : ''}`
      : 'tracked',
    detail: { origin },
  };
  const rows = await db
    .selectFrom('timeline')
    .selectAll()
    .where('refund_key', '=', key)
    .orderBy('id')
    .execute();
  return [tracked, ...rows.map((row) => timelineFromRow(caps, row))];
}

async function appendTimeline(db: Kysely<Database>, caps: DialectCapabilities, key: string, entries: readonly DecisionTimelineEntry[], now: number): Promise<void> {
  if (entries.length > 0) await db.insertInto('timeline').values(timelineRows(caps, key, entries, now)).execute();
}

async function releaseLease(db: Kysely<Database>, key: string, owner: string): Promise<void> {
  await db
    .updateTable('refunds')
    .set({ lease_owner: null, lease_expires_at: null })
    .where('key', '=', key)
    .where('lease_owner', '=', owner)
    .execute();
}

async function applyDecisions(db: Kysely<Database>, caps: DialectCapabilities, inputs: readonly ApplyInput[]): Promise<boolean[]> {
  if (inputs.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const results: boolean[] = [];
    const timeline: TimelineRow[] = [];
    const outbox: OutboxRow[] = [];
    // All the guarded updates are issued at once: the driver runs them in order on the one
    // connection, and the transaction pays one round trip instead of one per decision.
    const updates = await Promise.all(
      inputs.map(({ key, version, patch, now }) =>
        trx
          .updateTable('refunds')
          .set({
            ...patchColumns(patch),
            ...patchJsonColumns(caps, patch),
            updated_at: now,
            version: sql<number>`version + 1`,
            lease_owner: null,
            lease_expires_at: null,
          })
          .where('key', '=', key)
          .where('version', '=', version)
          .executeTakeFirst(),
      ),
    );
    inputs.forEach(({ key, timeline: entries, outbox: effects, now }, i) => {
      const applied = Number(updates[i]!.numUpdatedRows) === 1;
      results.push(applied);
      // A decision made on an old version writes nothing at all: not its timeline, not its effects.
      if (!applied) return;
      timeline.push(...timelineRows(caps, key, entries, now));
      outbox.push(...outboxRows(caps, key, effects, now));
    });
    // Multi-row inserts, chunked under the parameter limit (6 and 13 columns a row).
    for (let i = 0; i < timeline.length; i += 2000) await trx.insertInto('timeline').values(timeline.slice(i, i + 2000)).execute();
    await insertOutbox(trx, outbox);
    return results;
  });
}

async function nextDueAt(db: Kysely<Database>, now: number): Promise<number | undefined> {
  // Both walk the front of the due index: refunds held under a lease are few (a claim or two).
  const free = await db
    .selectFrom('refunds')
    .select('next_poll_at')
    .where('next_poll_at', 'is not', null)
    .where(leaseIsFree(now))
    .orderBy('next_poll_at')
    .limit(1)
    .executeTakeFirst();
  const held = await db
    .selectFrom('refunds')
    .select((eb) => eb.fn.min<number>('lease_expires_at').as('until'))
    .where('next_poll_at', '<=', now)
    .where('lease_expires_at', '>=', now)
    .executeTakeFirst();
  const candidates = [free?.next_poll_at, held?.until].filter((t): t is number => t !== null && t !== undefined).map(Number);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

async function listOverdue(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  { stalledBefore, giveUpBefore, limit }: { stalledBefore: number; giveUpBefore: number; limit: number },
): Promise<TrackedRefund[]> {
  // Two index ranges (migration 0009) instead of one scan of every open refund: those not yet
  // stalled past their stall point, and any past its give-up point; merged, oldest first.
  const overdue = async (index: string, extra: string, before: number) => {
    const from = sql.raw(caps.indexedBy ? `refunds indexed by ${index}` : 'refunds');
    const query = sql<Selectable<RefundsTable>>`select * from ${from} where ${sql.raw(`${OPEN}${extra}`)} and recorded_at <= ${before} order by recorded_at limit ${limit}`;
    return (await query.execute(db)).rows;
  };
  const [unstalled, givingUp] = await Promise.all([
    overdue('refunds_unstalled_recorded', ' and stalled_at is null', stalledBefore),
    overdue('refunds_open_recorded', '', giveUpBefore),
  ]);
  const byKey = new Map([...unstalled, ...givingUp].map((row) => [row.key, row]));
  return [...byKey.values()]
    .sort((a, b) => Number(a.recorded_at) - Number(b.recorded_at))
    .slice(0, limit)
    .map((row) => refundFromRow(caps, row));
}

async function recheckNow(db: Kysely<Database>, key: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('refunds')
    .set({ next_poll_at: now, updated_at: now })
    .where('key', '=', key)
    .where('status', 'in', ['pending', 'stalled'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
