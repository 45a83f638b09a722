import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { RefundStore } from '../../app/ports.js';
import { POSTGRES } from './dialects.js';
import { createKyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';

export interface PostgresStoreOptions {
  url: string;
  /** Pool size; the poll loop, the ingest and the dispatcher each hold at most one at a time. */
  maxConnections?: number;
}

const INT8_OID = 20;

/**
 * PostgreSQL, for several instances sharing one store: the claim query uses
 * `FOR UPDATE SKIP LOCKED` so instances never inquire the same refund at once.
 */
export function createPostgresStore(options: PostgresStoreOptions): RefundStore {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    // Fail a checkout fast when the database is unreachable instead of queueing forever; the
    // callers retry with backoff.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // Times are epoch milliseconds in BIGINT columns; they fit a double exactly until the year
    // 287,396, so parse them as numbers rather than the driver's default strings.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return createKyselyStore(db, POSTGRES);
}
