import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import { createWorkerChannel, type SqliteWorkerOptions, type WorkerChannel } from './sqlite-worker-channel.js';

export type { SqliteWorkerOptions } from './sqlite-worker-channel.js';

/**
 * A Kysely dialect that runs better-sqlite3 in a worker thread.
 *
 * better-sqlite3 is synchronous: every statement, and with SQLITE_SYNCHRONOUS=full every commit's
 * fsync, would otherwise block the event loop that also runs the Kafka consumer, the HTTP server
 * and the poll loop. In a worker, SQLite works on the second core while the main thread decodes
 * and validates the next records (bench/ingest measures the difference).
 *
 * This file is the Kysely side: connections, and transactions that hold the one SQLite connection
 * while they run. The worker and the messages to it are in sqlite-worker-channel.ts.
 */
export function createSqliteWorkerDialect(options: SqliteWorkerOptions): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => createWorkerDriver(options),
    createIntrospector: (db: Kysely<any>) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

/** An error from SQLite, with its code (SQLITE_BUSY, SQLITE_CONSTRAINT_UNIQUE, …) kept. */
export class SqliteWorkerError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'SqliteError';
    this.code = code;
  }
}

/** A Kysely connection of this driver: a handle on the one SQLite connection in the worker. */
interface WorkerConnection extends DatabaseConnection {
  /** Set from BEGIN until COMMIT or ROLLBACK has been answered. */
  inTransaction: boolean;
}

/**
 * The worker runs statements one at a time, in the order they were posted. Outside a
 * transaction a statement is therefore posted at once, without waiting for the answers to the
 * ones before it: the worker finds the next statement waiting as soon as it finishes one,
 * instead of idling until this thread (busy decoding a Kafka batch, say) has taken the answer
 * and handed the connection on. The ingest's writes from several partitions queue up this way.
 * A transaction must not interleave with anything, so from BEGIN until its COMMIT or ROLLBACK
 * has been answered it holds the connection, and every other statement waits for it.
 */
interface TransactionGate {
  /** The connection whose transaction holds the worker, if any. */
  holder(): WorkerConnection | undefined;
  /** Resolves when the current holder lets go. */
  released(): Promise<void>;
  hold(conn: WorkerConnection): void;
  /** Lets go, if `conn` holds. */
  unhold(conn: WorkerConnection): void;
}

function createTransactionGate(): TransactionGate {
  let holder: WorkerConnection | undefined;
  let holderDone: Promise<void> = Promise.resolve();
  let endHold: (() => void) | undefined;
  return {
    holder: () => holder,
    released: () => holderDone,
    hold(conn) {
      holder = conn;
      conn.inTransaction = true;
      holderDone = new Promise<void>((resolve) => (endHold = resolve));
    },
    unhold(conn) {
      if (holder !== conn) return;
      conn.inTransaction = false;
      holder = undefined;
      endHold?.();
      endHold = undefined;
    },
  };
}

function createConnection(channel: WorkerChannel, gate: TransactionGate): WorkerConnection {
  const conn: WorkerConnection = {
    inTransaction: false,
    async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
      // No await before the post when nothing holds the connection: statements are posted in
      // the order they are issued.
      while (gate.holder() && gate.holder() !== conn) await gate.released();
      if (!channel.running()) await channel.start();
      const reply = await channel.call({ sql: compiled.sql, params: compiled.parameters });
      if (reply.error) throw new SqliteWorkerError(reply.error.message, reply.error.code);
      if (reply.rows) return { rows: reply.rows as R[] };
      return {
        rows: [],
        numAffectedRows: reply.changes === undefined ? undefined : BigInt(reply.changes),
        insertId: reply.lastInsertRowid === undefined ? undefined : BigInt(reply.lastInsertRowid),
      };
    },
    // eslint-disable-next-line require-yield
    async *streamQuery() {
      throw new Error('streaming is not supported by the SQLite worker dialect');
    },
  };
  return conn;
}

function createWorkerDriver(options: SqliteWorkerOptions): Driver {
  const channel = createWorkerChannel(options);
  const gate = createTransactionGate();
  return {
    init: () => channel.start(),
    async acquireConnection() {
      await channel.start();
      return createConnection(channel, gate);
    },
    async beginTransaction(conn) {
      const c = conn as WorkerConnection;
      while (gate.holder()) await gate.released();
      gate.hold(c);
      try {
        // IMMEDIATE takes the write lock at BEGIN, so a transaction never fails half-way with
        // SQLITE_BUSY when another process (a CLI command) holds the file.
        await c.executeQuery(CompiledQuery.raw('begin immediate'));
      } catch (err) {
        gate.unhold(c);
        throw err;
      }
    },
    async commitTransaction(conn) {
      // A failed COMMIT leaves the transaction open: Kysely rolls it back next, still holding.
      await conn.executeQuery(CompiledQuery.raw('commit'));
      gate.unhold(conn as WorkerConnection);
    },
    async rollbackTransaction(conn) {
      try {
        await conn.executeQuery(CompiledQuery.raw('rollback'));
      } finally {
        gate.unhold(conn as WorkerConnection);
      }
    },
    async releaseConnection(conn) {
      const c = conn as WorkerConnection;
      if (gate.holder() === c) {
        // Released inside a transaction whose end failed: make sure nothing is left open before
        // anyone else's statements run (the worker rolls back whatever transaction is open).
        void channel.call({ op: 'settle' }).catch(() => undefined);
        gate.unhold(c);
      }
    },
    destroy: () => channel.close(),
  };
}
