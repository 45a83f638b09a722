import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteWorkerDialect } from '../../src/adapters/store/sqlite-worker-dialect.js';

/**
 * Statements outside a transaction are posted without waiting for the answers to the ones before
 * them. That may not change what a caller sees: each statement stays atomic, runs in the order it
 * was issued and is durable once answered; a transaction still runs alone.
 */
describe('the SQLite worker dialect', () => {
  let dir: string;
  let db: Kysely<unknown>;
  const run = (sql: string, params: unknown[] = []) => db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(sql, params));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-worker-'));
    db = new Kysely({
      dialect: createSqliteWorkerDialect({ path: join(dir, 'test.db'), pragmas: ['journal_mode = WAL', 'synchronous = FULL'] }),
    });
    await run('create table t (id integer primary key autoincrement, v text not null unique)');
  });

  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs concurrent writes in the order they were issued, each answered with its own result', async () => {
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => run('insert into t (v) values (?) returning id', [`v${i}`])));
    expect(results.map((r) => r.rows[0]!.id)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('fails a refused write alone: the writes queued around it stay', async () => {
    const writes = Array.from({ length: 50 }, (_, i) => run('insert into t (v) values (?)', [i === 25 ? 'v3' : `v${i}`]).then(
      () => 'ok',
      (err: { code?: string }) => err.code,
    ));
    const outcomes = await Promise.all(writes);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual(['SQLITE_CONSTRAINT_UNIQUE']);
    expect(outcomes[25]).toBe('SQLITE_CONSTRAINT_UNIQUE');
    const { rows } = await run('select count(*) as n from t');
    expect(rows[0]!.n).toBe(49);
  });

  it('keeps a transaction apart from the writes issued while it runs', async () => {
    const outside: Array<Promise<unknown>> = [];
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.executeQuery(CompiledQuery.raw('insert into t (v) values (?)', ['in-1']));
        // Issued while the transaction is open: they must neither run inside it nor be undone by it.
        for (let i = 0; i < 20; i++) outside.push(run('insert into t (v) values (?)', [`out-${i}`]));
        await new Promise((resolve) => setTimeout(resolve, 20));
        await trx.executeQuery(CompiledQuery.raw('insert into t (v) values (?)', ['in-2']));
        throw new Error('roll it back');
      }),
    ).rejects.toThrow('roll it back');
    await Promise.all(outside);
    const { rows } = await run('select v from t order by id');
    expect(rows.map((r) => r.v)).toEqual(Array.from({ length: 20 }, (_, i) => `out-${i}`));
  });

  it('commits a transaction whole, before the writes issued while it ran', async () => {
    const outside: Array<Promise<unknown>> = [];
    await db.transaction().execute(async (trx) => {
      await trx.executeQuery(CompiledQuery.raw('insert into t (v) values (?)', ['in-1']));
      for (let i = 0; i < 5; i++) outside.push(run('insert into t (v) values (?)', [`out-${i}`]));
      await trx.executeQuery(CompiledQuery.raw('insert into t (v) values (?)', ['in-2']));
    });
    await Promise.all(outside);
    const { rows } = await run('select v from t order by id');
    expect(rows.map((r) => r.v)).toEqual(['in-1', 'in-2', 'out-0', 'out-1', 'out-2', 'out-3', 'out-4']);
  });

  it('answers a write only once it is durable: what was answered survives a reopen', async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => run('insert into t (v) values (?)', [`v${i}`])));
    await db.destroy();
    db = new Kysely({ dialect: createSqliteWorkerDialect({ path: join(dir, 'test.db'), pragmas: ['journal_mode = WAL'] }) });
    const { rows } = await run('select count(*) as n from t');
    expect(rows[0]!.n).toBe(100);
  });
});
