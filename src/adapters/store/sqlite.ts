import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely } from 'kysely';
import type { RefundStore } from '../../app/ports.js';
import { SQLITE } from './dialects.js';
import { createKyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import { createSqliteWorkerDialect } from './sqlite-worker-dialect.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for tests. */
  path: string;
  /** `full` fsyncs every commit (survives power loss); `normal` survives a process crash. */
  synchronous?: 'full' | 'normal';
}

/**
 * The embedded default: one SQLite file in WAL mode, driven from a worker thread. WAL lets
 * readers (a CLI command, a backup) run while the service writes, and turns each commit into
 * one sequential append.
 */
export function createSqliteStore(options: SqliteStoreOptions): RefundStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const pragmas = [
    'journal_mode = WAL',
    `synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`,
    // A second process on the same file (a CLI command beside the service) waits for the writer
    // instead of failing at once; 5 s is far above one ingest transaction (a few ms).
    'busy_timeout = 5000',
    // 64 MiB of page cache keeps the indexes of a few hundred thousand refunds in memory, so an
    // insert touches the disk only at commit (the default 2 MiB evicts index pages under load).
    'cache_size = -65536',
    'foreign_keys = ON',
  ];
  const db = new Kysely<Database>({ dialect: createSqliteWorkerDialect({ path: options.path, pragmas }) });
  return createKyselyStore(db, SQLITE);
}
