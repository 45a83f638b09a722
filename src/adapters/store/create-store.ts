import type { Logger } from 'pino';
import type { RefundStore } from '../../app/ports.js';
import type { DatabaseTarget } from '../../config/settings.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';

/** DATABASE_URL and, for SQLite, SQLITE_SYNCHRONOUS. */
export type StoreTarget = DatabaseTarget & { readonly sqliteSynchronous: 'full' | 'normal' };

/** Picks the store implementation the DATABASE_URL names. */
export function createStore(target: StoreTarget, logger?: Logger): RefundStore {
  switch (target.kind) {
    case 'sqlite':
      return createSqliteStore({ path: target.path, synchronous: target.sqliteSynchronous });
    case 'postgres':
      return createPostgresStore({
        url: target.url,
        onConnectionError: (err) => logger?.warn({ err, component: 'store' }, 'a PostgreSQL connection was closed by the server; it will be replaced'),
      });
  }
}
