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
 * A count is the sum of `n` over its rows. On SQLite (one writer) each status has one row, updated
 * in place. On PostgreSQL every change appends rows and nothing updates them: a row updated by
 * every writing transaction would be locked by each until it commits (and two transactions
 * changing statuses in opposite orders would deadlock), and a row updated many times in one
 * transaction grows a chain of versions that each later update walks (bench/store-scale's bulk
 * update of 40,000 statuses took 69 s that way). The rows are folded into one per status by
 * status-counts.ts, every minute and whenever a reader finds many.
 */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  let table = db.schema
    .createTable('status_counts')
    .addColumn('tbl', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('n', caps.bigint, (c) => c.notNull());
  if (caps.name === 'sqlite') table = table.addPrimaryKeyConstraint('status_counts_pk', ['tbl', 'status']);
  await table.execute();
  for (const counted of COUNTED) {
    if (caps.name === 'postgres') await postgresTriggers(db, counted);
    else await sqliteTriggers(db, counted);
    // The triggers exist before the rows are counted, in the migration's transaction: on
    // PostgreSQL, CREATE TRIGGER locks out other writers until it commits, so no row is missed
    // or counted twice.
    await sql`insert into status_counts (tbl, status, n) select ${counted}, status, count(*) from ${sql.table(counted)} group by status`.execute(db);
  }
}

/** The tables whose rows are counted by status. */
export const COUNTED = ['refunds', 'outbox'] as const;

async function sqliteTriggers(db: Kysely<any>, table: string): Promise<void> {
  const add = (status: string, delta: number) =>
    `insert into status_counts (tbl, status, n) values ('${table}', ${status}, ${delta}) on conflict (tbl, status) do update set n = n + (${delta});`;
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
  const batch = (sign: string) => `
    begin
      insert into status_counts (tbl, status, n) select tg_table_name, status, ${sign}count(*) from changed_rows group by status;
      return null;
    end`;
  const functions = [
    `create function status_counts_inserted() returns trigger language plpgsql as $$${batch('')}$$`,
    `create function status_counts_deleted() returns trigger language plpgsql as $$${batch('-')}$$`,
    `create function status_counts_changed() returns trigger language plpgsql as $$
    begin
      insert into status_counts (tbl, status, n) values (tg_table_name, old.status, -1), (tg_table_name, new.status, 1);
      return null;
    end$$`,
  ];
  for (const statement of functions) await sql.raw(statement).execute(db);
}
