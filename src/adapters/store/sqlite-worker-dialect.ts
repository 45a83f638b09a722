import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
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

/**
 * A Kysely dialect that runs better-sqlite3 in a worker thread.
 *
 * better-sqlite3 is synchronous: every statement, and with SQLITE_SYNCHRONOUS=full every commit's
 * fsync, would otherwise block the event loop that also runs the Kafka consumer, the HTTP server
 * and the poll loop. In a worker, SQLite works on the second core while the main thread decodes
 * and validates the next records (bench/ingest measures the difference).
 *
 * The worker is a short CommonJS script given as source text, so it runs the same from src/
 * (vitest, tsx) and from dist/ (the built service) without a loader for TypeScript.
 */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.modulePath);
const db = new Database(workerData.path);
for (const pragma of workerData.pragmas) db.pragma(pragma);
// Prepared once, reused: the same few statements run thousands of times a second.
const cache = new Map();
const CACHE_SIZE = workerData.statementCacheSize;
function prepare(sql) {
  let statement = cache.get(sql);
  if (statement) cache.delete(sql);
  else {
    statement = db.prepare(sql);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value);
  }
  cache.set(sql, statement);
  return statement;
}
function handle(msg) {
  if (msg.op === 'close') {
    try { db.close(); } catch {}
    return { id: msg.id };
  }
  if (msg.op === 'settle') {
    try { if (db.inTransaction) db.exec('rollback'); } catch {}
    return { id: msg.id };
  }
  try {
    const statement = prepare(msg.sql);
    if (statement.reader) return { id: msg.id, rows: statement.all(msg.params) };
    const r = statement.run(msg.params);
    return { id: msg.id, changes: r.changes, lastInsertRowid: r.lastInsertRowid };
  } catch (err) {
    return { id: msg.id, error: { message: err.message, code: err.code, name: err.name } };
  }
}
// Statements posted in the same tick arrive as one batch and their answers go back as one: a
// message between threads costs far more than a small statement (bench/polling).
parentPort.on('message', (msg) => {
  parentPort.postMessage(Array.isArray(msg) ? msg.map(handle) : handle(msg));
});
parentPort.postMessage({ ready: true });
`;

export interface SqliteWorkerOptions {
  path: string;
  pragmas: string[];
  /** Distinct statements kept prepared; 256 covers every statement the service issues. */
  statementCacheSize?: number;
}

interface Reply {
  id: number;
  rows?: unknown[];
  changes?: number;
  lastInsertRowid?: number | bigint;
  error?: { message: string; code?: string; name?: string };
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

function createWorkerDriver(options: SqliteWorkerOptions): Driver {
  let worker: Worker | undefined;
  let ready: Promise<void> | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  // The worker runs statements one at a time, in the order they were posted. Outside a
  // transaction a statement is therefore posted at once, without waiting for the answers to the
  // ones before it: the worker finds the next statement waiting as soon as it finishes one,
  // instead of idling until this thread (busy decoding a Kafka batch, say) has taken the answer
  // and handed the connection on. The ingest's writes from several partitions queue up this way.
  // A transaction must not interleave with anything, so from BEGIN until its COMMIT or ROLLBACK
  // has been answered it holds the connection, and every other statement waits for it.
  let holder: WorkerConnection | undefined;
  let holderDone: Promise<void> = Promise.resolve();
  let endHold: (() => void) | undefined;

  function start(): Promise<void> {
    const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { modulePath, path: options.path, pragmas: options.pragmas, statementCacheSize: options.statementCacheSize ?? 256 },
    });
    worker = w;
    return new Promise<void>((resolve, reject) => {
      w.on('message', (msg: (Reply & { ready?: boolean }) | Reply[]) => {
        if (!Array.isArray(msg) && msg.ready) return resolve();
        for (const reply of Array.isArray(msg) ? msg : [msg]) {
          const waiter = pending.get(reply.id);
          if (!waiter) continue;
          pending.delete(reply.id);
          waiter.resolve(reply);
        }
      });
      const fail = (err: Error) => {
        // The worker is gone (it failed to open the file, or crashed): fail what waits on it,
        // and start a fresh one on the next query so the store recovers by itself.
        worker = undefined;
        ready = undefined;
        reject(err);
        for (const waiter of pending.values()) waiter.reject(err);
        pending.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (worker === w) fail(new Error(`SQLite worker exited with code ${code}`));
      });
    });
  }

  // Statements issued in one tick (a transaction's pipelined updates, several partitions'
  // writes) are posted together at the end of the tick, in order.
  let outgoing: Array<{ id: number }> = [];
  let flushing = false;
  function flush(): void {
    flushing = false;
    const batch = outgoing;
    outgoing = [];
    const w = worker;
    if (!w) {
      const err = new Error('SQLite worker is not running');
      for (const m of batch) {
        pending.get(m.id)?.reject(err);
        pending.delete(m.id);
      }
      return;
    }
    w.postMessage(batch.length === 1 ? batch[0] : batch);
  }

  function call(message: { op?: 'close' | 'settle'; sql?: string; params?: readonly unknown[] }): Promise<Reply> {
    if (!worker) return Promise.reject(new Error('SQLite worker is not running'));
    const id = nextId++;
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      outgoing.push({ ...message, id });
      if (!flushing) {
        flushing = true;
        queueMicrotask(flush);
      }
    });
  }

  async function ensureWorker(): Promise<void> {
    if (!worker) ready = start();
    await ready;
  }

  function hold(conn: WorkerConnection): void {
    holder = conn;
    conn.inTransaction = true;
    holderDone = new Promise<void>((resolve) => (endHold = resolve));
  }

  function unhold(conn: WorkerConnection): void {
    if (holder !== conn) return;
    conn.inTransaction = false;
    holder = undefined;
    endHold?.();
    endHold = undefined;
  }

  function createConnection(): WorkerConnection {
    const conn: WorkerConnection = {
      inTransaction: false,
      async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
        // No await before the post when nothing holds the connection: statements are posted in
        // the order they are issued.
        while (holder && holder !== conn) await holderDone;
        if (!worker) await ensureWorker();
        const reply = await call({ sql: compiled.sql, params: compiled.parameters });
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

  return {
    async init() {
      ready ??= start();
      await ready;
    },
    async acquireConnection() {
      await ensureWorker();
      return createConnection();
    },
    async beginTransaction(conn) {
      const c = conn as WorkerConnection;
      while (holder) await holderDone;
      hold(c);
      try {
        // IMMEDIATE takes the write lock at BEGIN, so a transaction never fails half-way with
        // SQLITE_BUSY when another process (a CLI command) holds the file.
        await c.executeQuery(CompiledQuery.raw('begin immediate'));
      } catch (err) {
        unhold(c);
        throw err;
      }
    },
    async commitTransaction(conn) {
      // A failed COMMIT leaves the transaction open: Kysely rolls it back next, still holding.
      await conn.executeQuery(CompiledQuery.raw('commit'));
      unhold(conn as WorkerConnection);
    },
    async rollbackTransaction(conn) {
      try {
        await conn.executeQuery(CompiledQuery.raw('rollback'));
      } finally {
        unhold(conn as WorkerConnection);
      }
    },
    async releaseConnection(conn) {
      const c = conn as WorkerConnection;
      if (holder === c) {
        // Released inside a transaction whose end failed: make sure nothing is left open before
        // anyone else's statements run (the worker rolls back whatever transaction is open).
        void call({ op: 'settle' }).catch(() => undefined);
        unhold(c);
      }
    },
    async destroy() {
      const w = worker;
      if (!w) return;
      await call({ op: 'close' }).catch(() => undefined);
      worker = undefined;
      await w.terminate();
    },
  };
}

export function createSqliteWorkerDialect(options: SqliteWorkerOptions): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => createWorkerDriver(options),
    createIntrospector: (db: Kysely<any>) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}
