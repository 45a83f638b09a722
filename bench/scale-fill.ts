/**
 * The store a benchmark at scale starts from (bench/store-scale, bench/polling-scale): refunds in
 * realistic states, on SQLite on disk or on a scratch PostgreSQL database. By position in every
 * hundred: 0-69 final (completed, one in seven failed), 70-94 pending and due over the hour from
 * `now`, 95-99 stalled. The `all-pending` layout instead leaves every refund pending, due over
 * the hour from `now`.
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { RefundStore } from '../src/app/ports.js';
import { createPostgresStore } from '../src/adapters/store/postgres.js';
import { createSqliteStore } from '../src/adapters/store/sqlite.js';
import { adminQuery, createScratchDatabase } from '../src/devtools/scratch-postgres.js';
import type { NewRefund } from '../src/domain/refund.js';

export const HOUR = 3_600_000;

export interface ScaleBackend {
  readonly name: 'sqlite' | 'postgres';
  /** DATABASE_URL for a service on this store. */
  readonly url: string;
  readonly store: RefundStore;
  /** Runs one SQL statement with a separate connection (bulk state changes, sizes). */
  exec(sql: string, params?: unknown[]): Promise<void>;
  bytes(): Promise<number>;
  /** Closes this process's connections; the data stays (a service may open it next). */
  release(): Promise<void>;
  /** A copy of the store as it is now (after release()), for one run to change at will. */
  copy(name: string): Promise<{ url: string; drop(): Promise<void> }>;
  /** Releases, then deletes the data. */
  close(): Promise<void>;
}

/** The n-th refund of a filled store: ids `SS-00000042`, amounts varying with n. */
export function scaleRefund(n: number): NewRefund {
  const id = scaleRefundId(n);
  return {
    id,
    refundId: id,
    refundRequestId: `SQ-${n}`,
    paymentId: `SP-${n}`,
    refundAmount: { currency: 'USD', value: String(1000 + (n % 50_000)) },
    customer: { email: `customer${n}@example.com`, name: `Customer ${n}`, locale: 'en' },
    initiatedAt: '2026-11-25T10:00:00.000Z',
    metadata: { orderId: `O-${n}` },
    origin: { topic: 'refunds.initiated', partition: n % 3, offset: String(n) },
  };
}

export const scaleRefundId = (n: number) => `SS-${String(n).padStart(8, '0')}`;

export type ScaleLayout = 'realistic' | 'all-pending';

/** What the n-th refund is after the fill (see the header). */
export function scaleRefundState(n: number, layout: ScaleLayout = 'realistic'): 'final' | 'pending' | 'stalled' {
  const bucket = n % 100;
  if (layout === 'all-pending') return 'pending';
  return bucket < 70 ? 'final' : bucket < 95 ? 'pending' : 'stalled';
}

export async function openScaleBackend(name: string, label: string): Promise<ScaleBackend> {
  if (name === 'sqlite') return sqliteBackend(label);
  if (name === 'postgres') return postgresBackend(label);
  throw new Error(`unknown backend '${name}' (sqlite or postgres)`);
}

async function sqliteBackend(label: string): Promise<ScaleBackend> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${label}-`));
  const path = join(dir, 'refunds.db');
  const store = createSqliteStore({ path, synchronous: 'normal' });
  await store.migrate();
  const db = new Database(path);
  db.pragma('busy_timeout = 10000');
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    db.close();
    await store.close();
  };
  return {
    name: 'sqlite',
    url: `sqlite:${path}`,
    store,
    exec: async (sql, params = []) => void db.prepare(sql.replace(/\$\d+/g, '?')).run(...(params as unknown[])),
    bytes: async () => ['', '-wal'].reduce((sum, s) => sum + (statSync(`${path}${s}`, { throwIfNoEntry: false })?.size ?? 0), 0),
    release,
    async copy(name) {
      const copy = join(dir, `${name}.db`);
      copyFileSync(path, copy);
      return { url: `sqlite:${copy}`, drop: async () => ['', '-wal', '-shm'].forEach((s) => rmSync(`${copy}${s}`, { force: true })) };
    },
    async close() {
      await release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresBackend(label: string): Promise<ScaleBackend> {
  const dbName = `rn_${label.replace(/-/g, '_')}_${process.pid}`;
  const database = await createScratchDatabase(dbName);
  const store = createPostgresStore({ url: database.url });
  await store.migrate();
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await pool.end();
    await store.close();
  };
  return {
    name: 'postgres',
    url: database.url,
    store,
    exec: async (sql, params = []) => void (await pool.query(sql, params)),
    async bytes() {
      await pool.query('vacuum analyze');
      const { rows } = await pool.query<{ n: string }>('select pg_database_size(current_database()) as n');
      return Number(rows[0]!.n);
    },
    release,
    async copy(name) {
      const copy = `${dbName}_${name.replace(/\W/g, '_')}`;
      await adminQuery(`drop database if exists "${copy}" with (force)`);
      await adminQuery(`create database "${copy}" template "${dbName}"`);
      const url = new URL(database.url);
      url.pathname = `/${copy}`;
      return { url: url.toString(), drop: () => adminQuery(`drop database if exists "${copy}" with (force)`) };
    },
    async close() {
      await release();
      await database.drop();
    },
  };
}

/**
 * Grows the store from `from` to `to` refunds, in the states the header describes, as if tracked
 * at `now` (final ones finalised 40 days before it, stalled ones an hour before it).
 */
export async function fillScaleStore(b: ScaleBackend, from: number, to: number, now: number, layout: ScaleLayout = 'realistic'): Promise<void> {
  for (let start = from; start < to; start += 2000) {
    const batch = Array.from({ length: Math.min(2000, to - start) }, (_, k) => scaleRefund(start + k));
    await b.store.trackRefunds(batch, { now, firstPollAt: now, antomApi: 'v2' });
  }
  // The same states as scaleRefundState, by position: the number after `SS-` modulo 100.
  const n = b.name === 'sqlite' ? `cast(substr(key, 4) as integer)` : `cast(substring(key from 4) as integer)`;
  const bucket = `(${n} % 100)`;
  const range = `${n} >= ${from} and ${n} < ${to}`;
  if (layout === 'all-pending') {
    await b.exec(`update refunds set next_poll_at = ${now} + (${bucket} * 36000) where ${range}`);
  } else {
    await b.exec(`update refunds set status = case when ${bucket} % 7 = 0 then 'failed' else 'completed' end, finalized_at = ${now - 40 * 24 * HOUR}, next_poll_at = null where ${range} and ${bucket} < 70`);
    await b.exec(`update refunds set next_poll_at = ${now} + (${bucket} * 36000) where ${range} and ${bucket} >= 70 and ${bucket} < 95`);
    await b.exec(`update refunds set status = 'stalled', stalled_at = ${now - HOUR}, next_poll_at = ${now + HOUR} where ${range} and ${bucket} >= 95`);
  }
  // Settle as a running service would between fills: the fold-counts job (every minute) sums the
  // status changes the bulk updates appended (PostgreSQL) and autovacuum clears the dead rows
  // they left. Without it the first reads after a fill scan ~1.4M appended count rows and the
  // dead tuples of the updated refunds, which no service lives with for long. Twice on
  // PostgreSQL: the first fold's rows land after the burst's pages, so vacuum cannot give those
  // back until the next fold writes into the space it freed (docs/store.md, "Counts by status").
  for (let round = 0; round < (b.name === 'postgres' ? 2 : 1); round++) {
    await b.store.foldCounts();
    if (b.name === 'postgres') await b.exec('vacuum analyze');
  }
}
