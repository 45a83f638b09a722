import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from './dialects.js';
import { COUNTED } from './migrations/0010-status-counts.js';
import type { Database } from './schema.js';

/**
 * Counts by status, read from the rows migration 0010's triggers keep (docs/store.md, "Counts by
 * status"): a handful of rows whatever the size of the table.
 */
export async function readStatusCounts<S extends string>(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  table: (typeof COUNTED)[number],
  statuses: readonly S[],
): Promise<Record<S, number>> {
  const rows = await db
    .selectFrom('status_counts')
    .select(['status', sql<string>`sum(n)`.as('n'), sql<string>`count(*)`.as('rows')])
    .where('tbl', '=', table)
    .groupBy('status')
    .execute();
  const counts = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<S, number>;
  let spread = 0;
  for (const row of rows) {
    counts[row.status as S] = Number(row.n);
    spread += Number(row.rows);
  }
  if (spread > FOLD_ABOVE) await foldStatusCounts(db, caps);
  return counts;
}

/**
 * Rows a table's counts may spread over before a reader folds them (on PostgreSQL, where every
 * change appends rows; the `fold-counts` job folds them every minute as well).
 */
const FOLD_ABOVE = 2_000;

/**
 * Folds each table's rows into one per status, in one statement per table, so no sum changes:
 * the rows a fold deletes are exactly those it adds up. Writers only append, so a fold never waits
 * for them, and the rows of a transaction still open are not yet visible to it and stay. A fold
 * never waits for another either: rows another fold holds are skipped. Returns the rows removed.
 * On SQLite there is one row per status already.
 */
export async function foldStatusCounts(db: Kysely<Database>, caps: DialectCapabilities): Promise<number> {
  if (caps.name !== 'postgres') return 0;
  let removed = 0;
  for (const table of COUNTED) {
    const result = await sql<{ removed: string }>`
      with gone as (
        delete from status_counts where ctid in (select ctid from status_counts where tbl = ${table} for update skip locked)
        returning status, n),
      folded as (
        insert into status_counts (tbl, status, n) select ${table}, status, sum(n) from gone group by status returning 1)
      select (select count(*) from gone) - (select count(*) from folded) as removed`.execute(db);
    removed += Number(result.rows[0]?.removed ?? 0);
  }
  return removed;
}
