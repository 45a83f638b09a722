import type { Logger } from 'pino';
import type { RefundStore } from '../../app/ports.js';
import type { AppConfig } from '../../config/load.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';

/** Picks the store implementation the DATABASE_URL names. */
export function createStore(target: AppConfig['database'], logger?: Logger): RefundStore {
  switch (target.kind) {
    case 'sqlite':
      return createSqliteStore({ path: target.path, synchronous: target.sqliteSynchronous });
    case 'postgres':
      return createPostgresStore({
        url: target.url,
        onIdleError: (err) => logger?.warn({ err, component: 'store' }, 'an idle PostgreSQL connection was closed by the server; it will be replaced'),
      });
  }
}
