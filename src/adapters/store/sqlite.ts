import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { RefundStore } from '../../app/ports.js';
import { SQLITE } from './dialects.js';
import { createKyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for tests. */
  path: string;
  /** `full` fsyncs every commit (survives power loss); `normal` survives a process crash. */
  synchronous?: 'full' | 'normal';
}

/**
 * The embedded default: one SQLite file in WAL mode. WAL lets readers (the admin API, health
 * checks) run while the ingest writes, and turns each commit into one sequential append.
 */
export function createSqliteStore(options: SqliteStoreOptions): RefundStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const database = new BetterSqlite3(options.path);
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  // A second process on the same file (a CLI command beside the service) waits for the writer
  // instead of failing at once; 5 s is far above one ingest transaction (~tens of ms).
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return createKyselyStore(db, SQLITE);
}
