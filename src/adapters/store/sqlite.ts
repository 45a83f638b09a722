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
    // 16 MiB of page cache, allocated in this process and kept for its life. It holds what is
    // read again and again: the interior pages of every B-tree (1.4 MB at 1M refunds) and the due
    // index (5 MB at 1M). A row decided once every few minutes, or the leaf an insert lands on,
    // comes from the OS's file cache on a miss: a copy, not a disk read. 64 MiB cost 48 MB of the
    // service's RSS at 1M refunds and bought nothing measurable (ingest of random ids, claims,
    // decisions; docs/performance.md, "Memory while polling a million pending refunds"); SQLite's
    // default 2 MiB would not hold the due index.
    'cache_size = -16384',
    'foreign_keys = ON',
  ];
  const db = new Kysely<Database>({ dialect: createSqliteWorkerDialect({ path: options.path, pragmas }) });
  return createKyselyStore(db, SQLITE);
}
