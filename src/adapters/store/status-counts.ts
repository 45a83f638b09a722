import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from './dialects.js';
import type { COUNTED } from './migrations/0010-status-counts.js';
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
  let shards = 0;
  for (const row of rows) {
    counts[row.status as S] = Number(row.n);
    shards += Number(row.rows);
  }
  if (caps.name === 'postgres' && shards > FOLD_ABOVE) await foldStatusCounts(db, table);
  return counts;
}

/**
 * Rows a table's counts may spread over before the reader folds them: on PostgreSQL each server
 * process that changed a status has its own rows, and a process that has gone leaves them behind.
 */
const FOLD_ABOVE = 256;

/**
 * Folds the rows of server processes that have gone into shard 0, in one statement, so the sums
 * never change. It never waits: rows a transaction holds (a process id reused) are skipped, and
 * shard 0 is written in status order, the same in every folder.
 */
export async function foldStatusCounts(db: Kysely<Database>, table: string): Promise<void> {
  await sql`
    with gone as (
      delete from status_counts where ctid in (
        select ctid from status_counts s
        where s.tbl = ${table} and s.shard <> 0 and not exists (select 1 from pg_stat_activity a where a.pid = s.shard)
        for update skip locked)
      returning status, n)
    insert into status_counts (tbl, status, shard, n)
    select ${table}, status, 0, sum(n) from gone group by status order by status
    on conflict (tbl, status, shard) do update set n = status_counts.n + excluded.n`.execute(db);
}
