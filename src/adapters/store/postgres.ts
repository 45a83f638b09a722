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
  /** An idle connection failed (the server ended it); it is replaced on the next query. */
  onIdleError?: (err: Error) => void;
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
  // An idle pooled connection that the server ends (a restart, a failover, an operator's
  // pg_terminate_backend) emits 'error' on the pool; unheard, that event would end the process.
  // The pool drops the connection by itself and the next query opens a new one; callers see the
  // failure of their own query, if any, and retry.
  pool.on('error', (err) => options.onIdleError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return createKyselyStore(db, POSTGRES);
}
