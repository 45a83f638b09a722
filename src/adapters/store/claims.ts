import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { ClaimOptions, OutboxKind } from '../../app/ports.js';
import type { DialectCapabilities } from './dialects.js';
import type { Database } from './schema.js';

/**
 * Pure statement builders for the claims: each returns a query you can read, compile and test;
 * refunds.ts and outbox.ts only execute it. Building a Kysely query runs nothing, so these take
 * `db` only as the builder to start from.
 *
 * Every claim is `UPDATE … WHERE key IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING *`:
 * one statement that picks and leases. On SQLite the single writer makes it atomic; on PostgreSQL
 * SKIP LOCKED lets instances claim side by side without waiting on each other's rows.
 */

/** A row nobody holds, or whose holder's lease ran out. */
export function leaseIsFree(now: number) {
  // `any`: the same condition serves both leased tables, which Kysely cannot type generically.
  return (eb: any) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]);
}

/** Locks the picked rows for the claim where the backend can skip rows others are claiming. */
function lockForClaim<TB extends keyof Database, O>(caps: DialectCapabilities, pick: SelectQueryBuilder<Database, TB, O>) {
  return caps.skipLocked ? pick.forUpdate().skipLocked() : pick;
}

/** Up to `limit` refunds whose inquiry is due and free, earliest due first, leased to `owner`. */
export function claimDueStatement(db: Kysely<Database>, caps: DialectCapabilities, { owner, now, limit, leaseMs }: ClaimOptions) {
  const due = db
    .selectFrom('refunds')
    .select('key')
    .where('next_poll_at', 'is not', null)
    .where('next_poll_at', '<=', now)
    .where(leaseIsFree(now))
    .orderBy('next_poll_at')
    .limit(limit);
  return db
    .updateTable('refunds')
    .set({ lease_owner: owner, lease_expires_at: now + leaseMs })
    .where('key', 'in', lockForClaim(caps, due))
    .returningAll();
}

/** Leases the outbox entries `pick` selects to `owner`, counting an attempt for each. */
function leaseOutbox(db: Kysely<Database>, caps: DialectCapabilities, { owner, now, leaseMs }: ClaimOptions, pick: SelectQueryBuilder<Database, 'outbox', { id: number }>) {
  return db
    .updateTable('outbox')
    .set({ lease_owner: owner, lease_expires_at: now + leaseMs, attempts: sql<number>`attempts + 1` })
    .where('id', 'in', lockForClaim(caps, pick))
    .returningAll();
}

/** Up to `limit` due, free, pending outbox entries (of `kinds`, when given), in creation order. */
export function claimOutboxStatement(db: Kysely<Database>, caps: DialectCapabilities, options: ClaimOptions & { kinds?: readonly OutboxKind[] }) {
  let due = db
    .selectFrom('outbox')
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', options.now)
    .where(leaseIsFree(options.now))
    .orderBy('id')
    .limit(options.limit);
  if (options.kinds && options.kinds.length > 0) due = due.where('kind', 'in', [...options.kinds]);
  return leaseOutbox(db, caps, options, due);
}

/**
 * The free pending deliveries to `channel` created before `createdBefore`, due or not (the
 * backlog an outage left), in creation order.
 */
export function claimBacklogStatement(db: Kysely<Database>, caps: DialectCapabilities, options: ClaimOptions & { channel: string; createdBefore: number }) {
  const backlog = db
    .selectFrom('outbox')
    .select('id')
    .where('status', '=', 'pending')
    .where('kind', '=', 'delivery')
    .where('channel', '=', options.channel)
    .where('created_at', '<', options.createdBefore)
    .where(leaseIsFree(options.now))
    .orderBy('id')
    .limit(options.limit);
  return leaseOutbox(db, caps, options, backlog);
}
