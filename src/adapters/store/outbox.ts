import { sql, type Kysely } from 'kysely';
import type { ChannelOutage, OutboxChannelSummary, OutboxEntry, OutboxEntryInput, OutboxFilter, OutboxKind, OutboxStatus, RefundStore } from '../../app/ports.js';
import { claimBacklogStatement, claimOutboxStatement } from './claims.js';
import type { DialectCapabilities } from './dialects.js';
import { outageFromRow, outboxFromRow, outboxRows, type OutboxRow } from './rows.js';
import type { Database } from './schema.js';
import { readStatusCounts } from './status-counts.js';

const OUTBOX_STATUSES: readonly OutboxStatus[] = ['pending', 'sent', 'dead'];

/**
 * The outbox (effects of a state change, delivered by a dispatcher under a lease) and the channel
 * outages whose notices it carries. Every mark is guarded by the lease owner (docs/store.md).
 */

/** The outbox and channel-outage methods of the RefundStore, for kysely-store.ts to assemble. */
export function outboxOperations(db: Kysely<Database>, caps: DialectCapabilities) {
  return {
    claimOutbox: async (options) => (await claimOutboxStatement(db, caps, options).execute()).map((row) => outboxFromRow(caps, row)).sort(byId),
    claimBacklog: async (options) => (await claimBacklogStatement(db, caps, options).execute()).map((row) => outboxFromRow(caps, row)).sort(byId),
    renewOutboxLeases: (ids, owner, until) => renewOutboxLeases(db, ids, owner, until),
    markOutboxSending: (id, now, owner) => markOutboxSending(db, id, now, owner),
    markOutboxSent: (ids, now, owner) => markOutboxSent(db, ids, now, owner),
    retryOutboxLater: (id, options) => retryOutboxLater(db, id, options),
    markOutboxDead: (id, options) => markOutboxDead(db, id, options),
    expandOutbox: (items, now, owner) => expandOutbox(db, caps, items, now, owner),
    requeueOutbox: (id, now) => requeueOutbox(db, id, now),
    listOutbox: (filter) => listOutbox(db, caps, filter),
    countOutbox: () => readStatusCounts(db, caps, 'outbox', OUTBOX_STATUSES),
    summarizeOutbox: () => summarizeOutbox(db),
    earliestOutboxDue: () => earliestOutboxDue(db),
    pruneOutbox: (before) => pruneOutbox(db, before),
    enqueueOutbox: async (key, entries, now) => {
      if (entries.length === 0) return 0;
      const inserted = await db
        .insertInto('outbox')
        .values(outboxRows(caps, key, entries, now))
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('id')
        .execute();
      return inserted.length;
    },
    countWaiting: (channel) => countWaiting(db, channel),
    hurryChannel: (channel, now) => hurryChannel(db, channel, now),
    openOutage: (channel, now, error) => openOutage(db, channel, now, error),
    getOutage: (channel) => getOutage(db, channel),
    announceOutage: (channel, since, now, entries) => announceOutage(db, caps, channel, since, now, entries),
    closeOutage: (channel, since, entries, now) => closeOutage(db, caps, channel, since, entries, now),
  } satisfies Partial<RefundStore>;
}

const byId = (a: OutboxEntry, b: OutboxEntry) => a.id - b.id;

/** Inserts outbox entries, skipping dedupe keys already written, in chunks under the parameter limit. */
export async function insertOutbox(trx: Kysely<Database>, rows: readonly OutboxRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    await trx
      .insertInto('outbox')
      .values(rows.slice(i, i + 1000))
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .execute();
  }
}

async function renewOutboxLeases(db: Kysely<Database>, ids: readonly number[], owner: string, until: number): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable('outbox')
    .set({ lease_expires_at: until })
    .where('id', 'in', [...ids])
    .where('lease_owner', '=', owner)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

async function markOutboxSending(db: Kysely<Database>, id: number, now: number, owner: string): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({ sending_at: now })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

async function markOutboxSent(db: Kysely<Database>, ids: readonly number[], now: number, owner: string): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable('outbox')
    .set({ status: 'sent', sent_at: now, lease_owner: null, lease_expires_at: null, last_error: null, sending_at: null, failing_since: null })
    .where('id', 'in', [...ids])
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

async function retryOutboxLater(
  db: Kysely<Database>,
  id: number,
  { nextAttemptAt, error, now, owner }: { nextAttemptAt: number; error: string; now: number; owner: string },
): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({
      next_attempt_at: nextAttemptAt,
      last_error: error.slice(0, 2000),
      lease_owner: null,
      lease_expires_at: null,
      sending_at: null,
      failing_since: sql<number>`coalesce(failing_since, ${now})`,
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

async function markOutboxDead(db: Kysely<Database>, id: number, { error, owner }: { error: string; owner: string }): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({ status: 'dead', last_error: error.slice(0, 2000), lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

async function expandOutbox(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  items: ReadonlyArray<{ doneId: number; refundKey: string; entries: readonly OutboxEntryInput[]; doneError?: string }>,
  now: number,
  owner: string,
): Promise<void> {
  if (items.length === 0) return;
  await db.transaction().execute(async (trx) => {
    // Only what this owner still holds is expanded: the done marks first, guarded, then the
    // entries of the items whose mark applied.
    const held = new Set<number>();
    const plain = items.filter((item) => item.doneError === undefined).map((item) => item.doneId);
    if (plain.length > 0) {
      const done = await trx
        .updateTable('outbox')
        .set({ status: 'sent', sent_at: now, lease_owner: null, lease_expires_at: null })
        .where('id', 'in', plain)
        .where('lease_owner', '=', owner)
        .returning('id')
        .execute();
      for (const r of done) held.add(Number(r.id));
    }
    for (const item of items) {
      if (item.doneError === undefined) continue;
      if (await markOutboxDead(trx, item.doneId, { error: item.doneError, owner })) held.add(item.doneId);
    }
    await insertOutbox(trx, items.filter((item) => held.has(item.doneId)).flatMap((item) => outboxRows(caps, item.refundKey, item.entries, now)));
  });
}

async function requeueOutbox(db: Kysely<Database>, id: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({ status: 'pending', next_attempt_at: now, lease_owner: null, lease_expires_at: null, sending_at: null, failing_since: null })
    .where('id', '=', id)
    .where('status', '=', 'dead')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

async function listOutbox(db: Kysely<Database>, caps: DialectCapabilities, { status, kind, refundKey, limit, after }: OutboxFilter): Promise<OutboxEntry[]> {
  let query = db.selectFrom('outbox').selectAll().orderBy('id').limit(Math.min(limit ?? 100, 1000));
  if (status) query = query.where('status', '=', status);
  if (kind) query = query.where('kind', '=', kind);
  if (refundKey) query = query.where('refund_key', '=', refundKey);
  if (after !== undefined) query = query.where('id', '>', after);
  return (await query.execute()).map((row) => outboxFromRow(caps, row));
}

async function summarizeOutbox(db: Kysely<Database>): Promise<OutboxChannelSummary[]> {
  // Two groupings, never one over `sent`: pending entries are a range of outbox_due, and dead ones
  // are few (each is a message somebody should have had and did not).
  const [pending, dead] = await Promise.all([
    db
      .selectFrom('outbox')
      .select([
        'kind',
        'channel',
        sql<number>`count(*)`.as('n'),
        sql<number>`count(failing_since)`.as('failing'),
        sql<number | null>`min(failing_since)`.as('failing_since'),
        sql<number | null>`min(next_attempt_at)`.as('due'),
      ])
      .where('status', '=', 'pending')
      .groupBy(['kind', 'channel'])
      .execute(),
    db.selectFrom('outbox').select(['kind', 'channel', sql<number>`count(*)`.as('n')]).where('status', '=', 'dead').groupBy(['kind', 'channel']).execute(),
  ]);
  const byChannel = new Map<string, OutboxChannelSummary>();
  const at = (kind: string, channel: string) => {
    const key = `${kind}\u0000${channel}`;
    const found = byChannel.get(key) ?? { kind: kind as OutboxKind, channel, pending: 0, failing: 0, dead: 0 };
    byChannel.set(key, found);
    return { key, found };
  };
  for (const row of pending) {
    const { key, found } = at(row.kind, row.channel);
    byChannel.set(key, {
      ...found,
      pending: Number(row.n),
      failing: Number(row.failing),
      ...(row.failing_since === null ? {} : { failingSince: Number(row.failing_since) }),
      ...(row.due === null ? {} : { oldestDueAt: Number(row.due) }),
    });
  }
  for (const row of dead) {
    const { key, found } = at(row.kind, row.channel);
    byChannel.set(key, { ...found, dead: Number(row.n) });
  }
  return [...byChannel.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.channel.localeCompare(b.channel));
}

async function earliestOutboxDue(db: Kysely<Database>): Promise<number | undefined> {
  // ORDER BY … LIMIT 1 rather than min(): both SQLite and PostgreSQL answer it from the first
  // entry of the partial index outbox_due (pending entries by next_attempt_at).
  const row = await db.selectFrom('outbox').select('next_attempt_at').where('status', '=', 'pending').orderBy('next_attempt_at').limit(1).executeTakeFirst();
  return row ? Number(row.next_attempt_at) : undefined;
}

async function pruneOutbox(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db
    .deleteFrom('outbox')
    .where('status', '=', 'sent')
    .where('sent_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

async function countWaiting(db: Kysely<Database>, channel: string): Promise<{ pending: number; failing: number }> {
  const row = await db
    .selectFrom('outbox')
    .select([sql<number>`count(*)`.as('pending'), sql<number>`count(failing_since)`.as('failing')])
    .where('status', '=', 'pending')
    .where('channel', '=', channel)
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), failing: Number(row.failing) };
}

async function hurryChannel(db: Kysely<Database>, channel: string, now: number): Promise<number> {
  const result = await db
    .updateTable('outbox')
    .set({ next_attempt_at: now })
    .where('status', '=', 'pending')
    .where('channel', '=', channel)
    .where('next_attempt_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

async function openOutage(db: Kysely<Database>, channel: string, now: number, error: string): Promise<void> {
  await db
    .insertInto('channel_outages')
    .values({ channel, since: now, last_error: error.slice(0, 2000), announced_at: null })
    .onConflict((oc) => oc.column('channel').doUpdateSet({ last_error: error.slice(0, 2000) }))
    .execute();
}

async function getOutage(db: Kysely<Database>, channel: string): Promise<ChannelOutage | undefined> {
  const row = await db.selectFrom('channel_outages').selectAll().where('channel', '=', channel).executeTakeFirst();
  return row ? outageFromRow(row) : undefined;
}

async function announceOutage(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  channel: string,
  since: number,
  now: number,
  entries: readonly OutboxEntryInput[],
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('channel_outages')
      .set({ announced_at: now })
      .where('channel', '=', channel)
      .where('since', '=', since)
      .where('announced_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await insertOutbox(trx, outboxRows(caps, `outage:${channel}`, entries, now));
    return true;
  });
}

async function closeOutage(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  channel: string,
  since: number,
  entries: readonly OutboxEntryInput[],
  now: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('channel_outages').where('channel', '=', channel).where('since', '=', since).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return false;
    await insertOutbox(trx, outboxRows(caps, `outage:${channel}`, entries, now));
    return true;
  });
}
