import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { classifyStoreError } from '../../src/adapters/store/errors.js';
import { createSqliteStore } from '../../src/adapters/store/sqlite.js';
import { StoreRefusedDataError, StoreUnavailableError } from '../../src/domain/errors.js';
import { newRefund } from '../contract/refund-store.contract.js';

/**
 * Only "the store refuses this data" may ever cost a record (it is dead-lettered); everything else
 * is an outage. The SQLite cases are real errors from a real file; the PostgreSQL ones are the
 * SQLSTATEs the server sends (the fault suite meets the real ones: read-only, privileges).
 */
describe('store errors: data or outage', () => {
  const sqliteError = (fn: (db: Database.Database) => void): unknown => {
    const db = new Database(':memory:');
    db.exec('create table t (id integer primary key, v text not null check (length(v) < 5))');
    try {
      fn(db);
    } catch (err) {
      return err;
    } finally {
      db.close();
    }
    throw new Error('expected an error');
  };

  it('SQLite: constraint violations and mismatches are the data', () => {
    const constraint = classifyStoreError(sqliteError((db) => db.prepare('insert into t (v) values (?)').run('too long')));
    expect(constraint).toBeInstanceOf(StoreRefusedDataError);
    expect(constraint.code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(constraint.retriable).toBe(false);
    const notNull = classifyStoreError(sqliteError((db) => db.prepare('insert into t (v) values (null)').run()));
    expect(notNull).toBeInstanceOf(StoreRefusedDataError);
    const mismatch = classifyStoreError(sqliteError((db) => db.prepare('insert into t (id, v) values (?, ?)').run('x', 'a')));
    expect(mismatch).toMatchObject({ code: 'SQLITE_MISMATCH', retriable: false });
  });

  it('SQLite: a write lock held elsewhere, a read-only file, a missing table are outages', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rn-err-')), 'x.db');
    const holder = new Database(path);
    holder.exec('create table t (v text); begin immediate');
    const busy = classifyStoreError(sqliteError(() => {
      const other = new Database(path, { timeout: 10 });
      try {
        other.prepare('insert into t values (?)').run('a');
      } finally {
        other.close();
      }
    }));
    holder.exec('rollback');
    holder.close();
    expect(busy).toBeInstanceOf(StoreUnavailableError);
    expect(busy).toMatchObject({ code: 'SQLITE_BUSY', retriable: true });
    const readonly = classifyStoreError(sqliteError(() => {
      const ro = new Database(path, { readonly: true });
      try {
        ro.prepare('insert into t values (?)').run('a');
      } finally {
        ro.close();
      }
    }));
    expect(readonly).toMatchObject({ code: 'SQLITE_READONLY', retriable: true });
    expect(classifyStoreError(sqliteError((db) => db.prepare('insert into missing values (1)').run()))).toBeInstanceOf(StoreUnavailableError);
  });

  it('PostgreSQL: SQLSTATE classes 22 and 23 are the data; every other class is an outage', () => {
    const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
    for (const code of ['22021', '22P05', '23505', '23502', '22001']) {
      expect(classifyStoreError(pgError(code)), code).toBeInstanceOf(StoreRefusedDataError);
    }
    for (const code of ['25006', '42501', '53100', '57014', '57P01', '08006', '40001', '42P01']) {
      expect(classifyStoreError(pgError(code)), code).toBeInstanceOf(StoreUnavailableError);
    }
    expect(classifyStoreError(pgError('25006'))).toMatchObject({ code: 'SQLSTATE_25006', retriable: true });
  });

  it('network failures and anything unknown are outages', () => {
    for (const err of [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), new Error('Connection terminated unexpectedly'), 'a string', undefined]) {
      expect(classifyStoreError(err)).toBeInstanceOf(StoreUnavailableError);
    }
  });

  it('the store classifies what trackRefunds throws', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    // Not migrated: there is no table to write to, which is the store's problem, not the record's.
    await expect(store.trackRefunds([newRefund(1)], { now: 1, firstPollAt: 2 })).rejects.toBeInstanceOf(StoreUnavailableError);
    await store.close();
  });
});
