import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/**
 * 0010_status_counts: refunds and outbox entries counted by status as rows change, so the admin
 * summary, the digest and `/metrics` read a few rows instead of scanning the tables
 * (bench/store-scale: 77 ms on SQLite and 218 ms on PostgreSQL at 1M refunds; docs/store.md,
 * "Counts by status").
 *
 * Triggers keep the counts, not the store's code: every write path (ingest, decisions, sweeps,
 * re-checks, outbox marks and prunes, and any a later change adds) is counted, in the same
 * transaction as the change.
 *
 * A count is the sum of its rows' `n`. On SQLite (one writer) each status has one row, `shard` 0.
 * On PostgreSQL each server process (`pg_backend_pid()`) adds to its own rows: a single row per
 * status would be locked by every writing transaction of every instance until it commits, and two
 * transactions changing statuses in opposite orders would deadlock. Rows of processes that have
 * gone are folded into shard 0 by the reader (refunds.ts, foldStatusCounts).
 */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await db.schema
    .createTable('status_counts')
    .addColumn('tbl', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('shard', caps.bigint, (c) => c.notNull())
    .addColumn('n', caps.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('status_counts_pk', ['tbl', 'status', 'shard'])
    .execute();
  for (const table of COUNTED) {
    if (caps.name === 'postgres') await postgresTriggers(db, table);
    else await sqliteTriggers(db, table);
    // The triggers exist before the rows are counted, in the migration's transaction: on
    // PostgreSQL, CREATE TRIGGER locks out other writers until it commits, so no row is missed
    // or counted twice.
    await sql`insert into status_counts (tbl, status, shard, n) select ${table}, status, 0, count(*) from ${sql.table(table)} group by status`.execute(db);
  }
}

/** The tables whose rows are counted by status. */
export const COUNTED = ['refunds', 'outbox'] as const;

async function sqliteTriggers(db: Kysely<any>, table: string): Promise<void> {
  const add = (status: string, delta: number) =>
    `insert into status_counts (tbl, status, shard, n) values ('${table}', ${status}, 0, ${delta}) on conflict (tbl, status, shard) do update set n = n + (${delta});`;
  const statements = [
    `create trigger ${table}_count_inserted after insert on ${table} begin ${add('new.status', 1)} end`,
    `create trigger ${table}_count_deleted after delete on ${table} begin ${add('old.status', -1)} end`,
    `create trigger ${table}_count_changed after update of status on ${table} when old.status is not new.status begin ${add('old.status', -1)} ${add('new.status', 1)} end`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

async function postgresTriggers(db: Kysely<any>, table: string): Promise<void> {
  if (table === COUNTED[0]) await postgresFunctions(db);
  // Inserts and deletes come in batches (the ingest, outbox prunes): counted once per statement
  // from its transition table. A status change is counted per row, and only when it happens; an
  // UPDATE trigger with a transition table could not be limited to the status column, and would
  // copy every claimed row of every poll.
  const statements = [
    `create trigger ${table}_count_inserted after insert on ${table} referencing new table as changed_rows for each statement execute function status_counts_inserted()`,
    `create trigger ${table}_count_deleted after delete on ${table} referencing old table as changed_rows for each statement execute function status_counts_deleted()`,
    `create trigger ${table}_count_changed after update of status on ${table} for each row when (old.status is distinct from new.status) execute function status_counts_changed()`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

async function postgresFunctions(db: Kysely<any>): Promise<void> {
  const upsert = 'on conflict (tbl, status, shard) do update set n = status_counts.n + excluded.n';
  const batch = (sign: string) => `
    begin
      insert into status_counts (tbl, status, shard, n)
        select tg_table_name, status, pg_backend_pid(), ${sign}count(*) from changed_rows group by status order by status
        ${upsert};
      return null;
    end`;
  const functions = [
    `create function status_counts_inserted() returns trigger language plpgsql as $$${batch('')}$$`,
    `create function status_counts_deleted() returns trigger language plpgsql as $$${batch('-')}$$`,
    `create function status_counts_changed() returns trigger language plpgsql as $$
    begin
      insert into status_counts (tbl, status, shard, n)
        values (tg_table_name, old.status, pg_backend_pid(), -1), (tg_table_name, new.status, pg_backend_pid(), 1)
        ${upsert};
      return null;
    end$$`,
  ];
  for (const statement of functions) await sql.raw(statement).execute(db);
}
