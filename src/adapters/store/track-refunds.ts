import { CompiledQuery, type Kysely } from 'kysely';
import type { TrackResult } from '../../app/ports.js';
import type { NewRefund } from '../../domain/refund.js';
import type { DialectCapabilities } from './dialects.js';
import { classifyStoreError } from './errors.js';
import type { Database } from './schema.js';
import { trackInsertSql, trackParams, trackRowsPerStatement } from './statements.js';

/**
 * The ingest's write (RefundStore.trackRefunds): the hot path, so it runs the plain statements of
 * statements.ts rather than the query builder.
 */
export async function trackRefunds(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  refunds: readonly NewRefund[],
  { now, firstPollAt, antomApi }: { now: number; firstPollAt: number; antomApi?: 'v1' | 'v2' },
): Promise<TrackResult> {
  if (refunds.length === 0) return { inserted: [], duplicates: 0, conflicts: [] };
  // Within one batch the first record for a key wins, exactly as across batches.
  const unique = new Map<string, NewRefund>();
  for (const r of refunds) if (!unique.has(r.id)) unique.set(r.id, r);
  const rows = [...unique.values()];
  const perStatement = trackRowsPerStatement(caps);

  const insertChunk = async (executor: Kysely<Database>, chunk: NewRefund[], keys: string[]) => {
    const params: unknown[] = [];
    for (const r of chunk) params.push(...trackParams(caps, r, now, firstPollAt, antomApi ?? null));
    const result = await executor.executeQuery<{ key: string }>(CompiledQuery.raw(trackInsertSql(caps, chunk.length), params));
    for (const row of result.rows) keys.push(row.key);
  };
  const inserted: string[] = [];
  try {
    if (rows.length <= perStatement) {
      // One statement is atomic on its own: no BEGIN/COMMIT round trips, which for the SQLite
      // worker means the write never waits for this thread between steps of a transaction.
      await insertChunk(db, rows, inserted);
    } else {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += perStatement) await insertChunk(trx, rows.slice(i, i + perStatement), inserted);
      });
    }
  } catch (err) {
    throw classifyStoreError(err);
  }
  const conflicts = inserted.length === rows.length ? [] : await findConflicts(db, rows, new Set(inserted)).catch((err: unknown) => {
    throw classifyStoreError(err);
  });
  return { inserted, duplicates: refunds.length - inserted.length - conflicts.length, conflicts };
}

/**
 * The records a tracking insert skipped are duplicates, except one whose refundRequestId is
 * already tracked under another refundId: the merchant reused a request id for a different
 * refund (or a producer mixed two up), and which of the two Antom knows by that request id is
 * not ours to guess. A row without a refundId, or a record without one, is the same refund seen
 * with fewer ids: a duplicate. Runs only when something was skipped (redeliveries, replays).
 */
async function findConflicts(db: Kysely<Database>, rows: readonly NewRefund[], inserted: ReadonlySet<string>): Promise<TrackResult['conflicts']> {
  const skipped = rows.filter((r) => !inserted.has(r.id));
  const requestIds = skipped.map((r) => r.refundRequestId).filter((id): id is string => id !== undefined);
  if (requestIds.length === 0) return [];
  const existing = new Map<string, { key: string; refundId: string | null }>();
  for (let i = 0; i < requestIds.length; i += 500) {
    const found = await db
      .selectFrom('refunds')
      .select(['key', 'refund_id', 'refund_request_id'])
      .where('refund_request_id', 'in', requestIds.slice(i, i + 500))
      .execute();
    for (const row of found) existing.set(row.refund_request_id!, { key: row.key, refundId: row.refund_id });
  }
  const conflicts: Array<{ refund: NewRefund; reason: string }> = [];
  for (const r of skipped) {
    const other = r.refundRequestId === undefined ? undefined : existing.get(r.refundRequestId);
    if (!other || other.key === r.id) continue;
    if (r.refundId !== undefined && other.refundId !== null && other.refundId !== r.refundId) {
      conflicts.push({
        refund: r,
        reason: `refundRequestId ${r.refundRequestId} is already tracked for refundId ${other.refundId}; this record names refundId ${r.refundId}`,
      });
    }
  }
  return conflicts;
}
