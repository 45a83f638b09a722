import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RefundStore } from '../../src/app/ports.js';
import { POSTGRES } from '../../src/adapters/store/dialects.js';
import { migrationProvider } from '../../src/adapters/store/migrations/index.js';
import { createPostgresStore } from '../../src/adapters/store/postgres.js';
import type { Database } from '../../src/adapters/store/schema.js';
import { foldStatusCounts } from '../../src/adapters/store/status-counts.js';
import { createScratchDatabase, type ScratchDatabase } from '../../src/devtools/scratch-postgres.js';
import { newRefund } from '../contract/refund-store.contract.js';

/**
 * The counts by status on PostgreSQL (migration 0010; docs/store.md, "Counts by status"): kept by
 * triggers that only append rows, so several instances writing at once never wait on one counter
 * row nor deadlock, and the sums stay exact through concurrent writes, folds and the upgrade.
 */
const now = Date.parse('2026-12-01T10:00:00Z');
const ctx = { now, firstPollAt: now };
const databases: ScratchDatabase[] = [];
const opened: Array<{ destroy(): Promise<void> } | RefundStore> = [];
let serial = 0;

async function scratch(): Promise<{ url: string; db: Kysely<Database> }> {
  const database = await createScratchDatabase(`rn_counts_${process.pid}_${serial++}`);
  databases.push(database);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) });
  opened.push(db);
  return { url: database.url, db };
}

function store(url: string): RefundStore {
  const s = createPostgresStore({ url, maxConnections: 4 });
  opened.push(s);
  return s;
}

/** The counts as a scan of the tables gives them. */
async function scanned(db: Kysely<Database>): Promise<{ refunds: Record<string, number>; outbox: Record<string, number> }> {
  const byStatus = async (table: 'refunds' | 'outbox') =>
    Object.fromEntries(
      (await db.selectFrom(table).select(['status', sql<string>`count(*)`.as('n')]).groupBy('status').execute()).map((r) => [r.status, Number(r.n)]),
    );
  return { refunds: await byStatus('refunds'), outbox: await byStatus('outbox') };
}

async function counted(s: RefundStore): Promise<{ refunds: Record<string, number>; outbox: Record<string, number> }> {
  const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
  return { refunds: nonZero(await s.countByStatus()), outbox: nonZero(await s.countOutbox()) };
}

afterEach(async () => {
  for (const o of opened.splice(0)) await ('destroy' in o ? o.destroy() : o.close());
});
afterAll(async () => {
  for (const d of databases) await d.drop();
});

describe('counts by status on PostgreSQL', () => {
  it('counts the rows a database held before the upgrade', async () => {
    const { url, db } = await scratch();
    expect((await new Migrator({ db, provider: migrationProvider(POSTGRES) }).migrateTo('0009_overdue_indexes')).error).toBeUndefined();
    // A store of the new version writes the old schema the same way; it is not migrated yet.
    const old = store(url);
    await old.trackRefunds(Array.from({ length: 50 }, (_, i) => newRefund(i)), ctx);
    for (const [key, status] of [['R-000001', 'completed'], ['R-000002', 'failed'], ['R-000003', 'stalled']] as const) {
      const r = (await old.getRefund(key))!;
      await old.applyDecision({ key, version: r.version, patch: { status }, timeline: [], outbox: [{ dedupeKey: key, kind: 'event', channel: 'kafka', payload: {}, availableAt: now }], now });
    }
    await old.migrate();
    expect(await counted(old)).toEqual({ refunds: { pending: 47, completed: 1, failed: 1, stalled: 1 }, outbox: { pending: 3 } });
    expect(await counted(old)).toEqual(await scanned(db));
  });

  it('stays exact while three instances ingest, decide and mark at once, with folds running beside them', async () => {
    const { url, db } = await scratch();
    const instances = [store(url), store(url), store(url)];
    await instances[0]!.migrate();
    let folding = true;
    let folds = 0;
    const folder = (async () => {
      while (folding) {
        await foldStatusCounts(db, POSTGRES);
        folds += 1;
      }
    })();
    // Each instance tracks its own refunds and some of the others' (duplicates), then claims
    // whatever is due and moves it to a status chosen by its number: the instances change
    // statuses in different orders inside their transactions, the case a single counter row
    // per status would deadlock on.
    const statuses = ['completed', 'failed', 'stalled', 'pending'] as const;
    await Promise.all(
      instances.map(async (s, n) => {
        for (let batch = 0; batch < 10; batch += 1) {
          const first = n * 1000 + batch * 100;
          await s.trackRefunds(Array.from({ length: 120 }, (_, i) => newRefund(first + i)), ctx);
          const claimed = await s.claimDue({ owner: `i${n}`, now: now + 1, limit: 60, leaseMs: 60_000 });
          const inputs = claimed.map((r, i) => ({
            key: r.id,
            version: r.version,
            patch: { status: statuses[(i + n) % 4]! },
            timeline: [],
            outbox: [{ dedupeKey: `e:${r.id}`, kind: 'event' as const, channel: 'kafka', payload: {}, availableAt: now }],
            now,
          }));
          await s.applyDecisions(inputs);
          const entries = await s.claimOutbox({ owner: `i${n}`, now: now + 1, limit: 40, leaseMs: 60_000 });
          await s.markOutboxSent(entries.filter((_, i) => i % 2 === 0).map((e) => e.id), now + 1, `i${n}`);
          for (const e of entries.filter((_, i) => i % 4 === 1)) await s.markOutboxDead(e.id, { error: 'x', now: now + 1, owner: `i${n}` });
        }
      }),
    );
    folding = false;
    await folder;
    expect(folds).toBeGreaterThan(0);
    const truth = await scanned(db);
    expect(Object.values(truth.refunds).reduce((a, b) => a + b, 0)).toBe(3 * 1000 + 20);
    for (const s of instances) expect(await counted(s)).toEqual(truth);
  });

  it('folds its rows into one per status, by the job and by a reader that finds many, without changing a sum', async () => {
    const { url, db } = await scratch();
    const s = store(url);
    await s.migrate();
    await s.trackRefunds(Array.from({ length: 30 }, (_, i) => newRefund(i)), ctx);
    // A bulk status change in one transaction appends rows; it takes as long per row at the
    // 20,000th as at the first (an upserted counter row would grow a version chain instead).
    await sql`update refunds set status = 'failed' where key < 'R-000010'`.execute(db);
    const rows = async () => Number((await db.selectFrom('status_counts').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    const before = await counted(s);
    expect(before).toEqual({ refunds: { pending: 20, failed: 10 }, outbox: {} });
    expect(await rows()).toBeGreaterThan(20);
    expect(await s.foldCounts()).toBeGreaterThan(0);
    expect(await rows()).toBe(2);
    expect(await counted(s)).toEqual(before);

    // Many rows left unfolded (here 3,000 that sum to 0): the reader answers, then folds.
    const noise = Array.from({ length: 3_000 }, (_, i) => ({ tbl: 'refunds', status: i % 2 ? 'pending' : 'stalled', n: i % 4 < 2 ? 5 : -5 }));
    await db.insertInto('status_counts').values(noise).execute();
    expect(await counted(s)).toEqual(before);
    expect(await rows()).toBeLessThanOrEqual(3);
    expect(await counted(s)).toEqual(await scanned(db));
  });
});
