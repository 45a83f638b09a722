/**
 * bench/store-scale: what the store's hot statements cost as it grows. Fills a store (SQLite on
 * disk, and PostgreSQL) with 10k, 100k and 1M refunds in realistic states — 70 % final (completed
 * or failed), 25 % pending and due over the next hour, 5 % stalled — and at each size measures:
 *
 * - claim: claiming a due batch of 100 (and giving it back), the poll loop's statement;
 * - sweep: listing 100 overdue refunds, the deadline sweep's;
 * - summary: counting refunds by status, the admin summary's and the digest's;
 * - metrics: what `/metrics` reads from the store (refunds and outbox by status);
 * - ingest: tracking a batch of 500 new refunds, the ingest's insert;
 * - size: the store's bytes per refund;
 *
 * each as the median of several runs and as a ratio of its cost at 10k (goal: ≤ 1.5 × at 1M,
 * index-bound rather than table-bound). Prints figures; asserts nothing.
 *
 *   npx tsx bench/store-scale.ts [--sizes 10000,100000,1000000] [--backends sqlite,postgres]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { RefundStore } from '../src/app/ports.js';
import { createPostgresStore } from '../src/adapters/store/postgres.js';
import { createSqliteStore } from '../src/adapters/store/sqlite.js';
import { createScratchDatabase } from '../src/devtools/scratch-postgres.js';
import type { NewRefund } from '../src/domain/refund.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    backends: { type: 'string', default: 'sqlite,postgres' },
  },
});
const SIZES = args.sizes!.split(',').map(Number);
const NOW = Date.parse('2026-12-02T00:00:00Z');
const HOUR = 3_600_000;
const RUNS = 7;

interface Backend {
  readonly name: string;
  readonly store: RefundStore;
  /** Runs one SQL statement with a separate connection (bulk state changes, sizes). */
  exec(sql: string, params?: unknown[]): Promise<void>;
  bytes(): Promise<number>;
  close(): Promise<void>;
}

function refund(n: number): NewRefund {
  const id = `SS-${String(n).padStart(8, '0')}`;
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

async function sqliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-scale-'));
  const path = join(dir, 'refunds.db');
  const store = createSqliteStore({ path, synchronous: 'normal' });
  await store.migrate();
  const db = new Database(path);
  db.pragma('busy_timeout = 10000');
  return {
    name: 'sqlite',
    store,
    exec: async (sql, params = []) => void db.prepare(sql.replace(/\$\d+/g, '?')).run(...(params as unknown[])),
    bytes: async () => ['', '-wal'].reduce((sum, s) => sum + (statSync(`${path}${s}`, { throwIfNoEntry: false })?.size ?? 0), 0),
    async close() {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  const database = await createScratchDatabase(`rn_store_scale_${process.pid}`);
  const store = createPostgresStore({ url: database.url });
  await store.migrate();
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  return {
    name: 'postgres',
    store,
    exec: async (sql, params = []) => void (await pool.query(sql, params)),
    async bytes() {
      await pool.query('vacuum analyze');
      const { rows } = await pool.query<{ n: string }>('select pg_database_size(current_database()) as n');
      return Number(rows[0]!.n);
    },
    async close() {
      await pool.end();
      await store.close();
      await database.drop();
    },
  };
}

/** Grows the store from `from` to `to` refunds, in the states the header describes. */
async function fill(b: Backend, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += 2000) {
    const batch = Array.from({ length: Math.min(2000, to - start) }, (_, k) => refund(start + k));
    await b.store.trackRefunds(batch, { now: NOW, firstPollAt: NOW, antomApi: 'v2' });
  }
  // By position: 0-69 of every 100 final, 70-94 pending and due over the next hour, 95-99 stalled.
  const n = `cast(substr(key, 4) as integer)`;
  const bucket = b.name === 'sqlite' ? `(${n} % 100)` : `(cast(substring(key from 4) as integer) % 100)`;
  const range = b.name === 'sqlite' ? `${n} >= ${from} and ${n} < ${to}` : `cast(substring(key from 4) as integer) >= ${from} and cast(substring(key from 4) as integer) < ${to}`;
  await b.exec(`update refunds set status = case when ${bucket} % 7 = 0 then 'failed' else 'completed' end, finalized_at = ${NOW - 40 * 24 * HOUR}, next_poll_at = null where ${range} and ${bucket} < 70`);
  await b.exec(`update refunds set next_poll_at = ${NOW} + (${bucket} * 36000) where ${range} and ${bucket} >= 70 and ${bucket} < 95`);
  await b.exec(`update refunds set status = 'stalled', stalled_at = ${NOW - HOUR}, next_poll_at = ${NOW + HOUR} where ${range} and ${bucket} >= 95`);
}

/** The median time of `run`, in milliseconds. */
async function median(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

async function measure(b: Backend, size: number, ingestFrom: { next: number }): Promise<Record<string, number>> {
  const now = NOW + HOUR / 2;
  return {
    claim: await median(async () => {
      const claimed = await b.store.claimDue({ owner: 'bench', now, limit: 100, leaseMs: 60_000 });
      await Promise.all(claimed.map((r) => b.store.releaseLease(r.id, 'bench')));
    }),
    sweep: await median(() => b.store.listOverdue({ stalledBefore: now - 2 * HOUR, giveUpBefore: now - 30 * 24 * HOUR, limit: 100 })),
    summary: await median(() => b.store.countByStatus()),
    metrics: await median(() => Promise.all([b.store.countByStatus(), b.store.countOutbox()])),
    ingest: await median(async () => {
      const start = ingestFrom.next;
      ingestFrom.next += 500;
      await b.store.trackRefunds(Array.from({ length: 500 }, (_, k) => refund(start + k)), { now, firstPollAt: now + 10 * HOUR, antomApi: 'v2' });
    }),
    bytesPerRefund: (await b.bytes()) / size,
  };
}

async function main(): Promise<void> {
  for (const name of args.backends!.split(',')) {
    const b = name === 'sqlite' ? await sqliteBackend() : await postgresBackend();
    // The ingest measurement adds refunds past every size's own range (far ids, never refilled).
    const ingestFrom = { next: 50_000_000 };
    const base: Record<string, number> = {};
    console.log(`\n${name}: median of ${RUNS} runs; ratio to 10k in brackets`);
    console.log('| refunds | claim 100 | sweep 100 | summary | metrics | ingest 500 | bytes/refund | fill s |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    let filled = 0;
    try {
      for (const size of SIZES) {
        const started = performance.now();
        await fill(b, filled, size);
        filled = size;
        const fillSeconds = (performance.now() - started) / 1000;
        const m = await measure(b, size, ingestFrom);
        if (Object.keys(base).length === 0) Object.assign(base, m);
        const cell = (k: string) => `${m[k]!.toFixed(k === 'bytesPerRefund' ? 0 : 2)}${k === 'bytesPerRefund' ? '' : ' ms'} (${(m[k]! / base[k]!).toFixed(2)}×)`;
        console.log(`| ${size.toLocaleString('en')} | ${['claim', 'sweep', 'summary', 'metrics', 'ingest', 'bytesPerRefund'].map(cell).join(' | ')} | ${fillSeconds.toFixed(0)} |`);
      }
    } finally {
      await b.close();
    }
  }
}


main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
