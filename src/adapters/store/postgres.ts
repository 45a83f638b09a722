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
  /** A connection failed (the server ended it, idle or in use); it is replaced on the next query. */
  onConnectionError?: (err: Error) => void;
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
  // A connection the server ends (a restart, a failover, an operator's pg_terminate_backend)
  // emits 'error' on its client; unheard, that event would end the process. The pool listens only
  // while the client is idle (and re-emits on itself); a client checked out — inside a
  // transaction, between two statements — has no listener of the pool's then (the fault test
  // that ends every session of a database mid-run found this). So every client gets one of its
  // own for its whole life, and the pool's is left silent to log each failure once. The pool
  // drops a failed connection by itself and the next query opens a new one; callers see the
  // failure of their own query, if any, and retry.
  pool.on('connect', (client) => client.on('error', (err) => options.onConnectionError?.(err)));
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return createKyselyStore(db, POSTGRES);
}
