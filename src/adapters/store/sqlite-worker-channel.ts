import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Both ends of the message channel to the thread that runs better-sqlite3: the worker script, and
 * the main thread's side that starts it, posts requests and routes the replies back to whoever
 * waits for them. What those requests mean to Kysely (connections, transactions) is in
 * sqlite-worker-dialect.ts.
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

/**
 * A statement to run, or housekeeping: `close` closes the database, `settle` rolls back whatever
 * transaction is still open.
 */
export interface WorkerRequest {
  op?: 'close' | 'settle';
  sql?: string;
  params?: readonly unknown[];
}

export interface WorkerReply {
  id: number;
  rows?: unknown[];
  changes?: number;
  lastInsertRowid?: number | bigint;
  error?: { message: string; code?: string; name?: string };
}

export interface WorkerChannel {
  /** Whether a worker runs now: false before the first start, after close(), and once it died. */
  running(): boolean;
  /** Starts a worker unless one runs (a fresh one after a crash), and waits until it opened the database. */
  start(): Promise<void>;
  /** Posts the request at the end of this tick, together with the others of the tick, in order. */
  call(request: WorkerRequest): Promise<WorkerReply>;
  /** Closes the database and ends the worker. */
  close(): Promise<void>;
}

export function createWorkerChannel(options: SqliteWorkerOptions): WorkerChannel {
  let worker: Worker | undefined;
  let ready: Promise<void> | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();

  function spawnWorker(): Promise<void> {
    const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { modulePath, path: options.path, pragmas: options.pragmas, statementCacheSize: options.statementCacheSize ?? 256 },
    });
    worker = w;
    return new Promise<void>((resolve, reject) => {
      w.on('message', (msg: (WorkerReply & { ready?: boolean }) | WorkerReply[]) => {
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
  let outgoing: Array<WorkerRequest & { id: number }> = [];
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

  function call(request: WorkerRequest): Promise<WorkerReply> {
    if (!worker) return Promise.reject(new Error('SQLite worker is not running'));
    const id = nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      outgoing.push({ ...request, id });
      if (!flushing) {
        flushing = true;
        queueMicrotask(flush);
      }
    });
  }

  return {
    running: () => worker !== undefined,
    async start() {
      if (!worker) ready = spawnWorker();
      await ready;
    },
    call,
    async close() {
      const w = worker;
      if (!w) return;
      await call({ op: 'close' }).catch(() => undefined);
      // Forgotten before it exits, so its exit is not taken for a crash.
      worker = undefined;
      await w.terminate();
    },
  };
}
