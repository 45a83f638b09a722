import type { RefundStore } from '../../app/ports.js';
import type { AppConfig } from '../../config/load.js';
import { createSqliteStore } from './sqlite.js';

/** Picks the store implementation the DATABASE_URL names. */
export function createStore(target: AppConfig['database']): RefundStore {
  switch (target.kind) {
    case 'sqlite':
      return createSqliteStore({ path: target.path, synchronous: target.sqliteSynchronous });
    case 'postgres':
      throw new Error('DATABASE_URL: the PostgreSQL store is not available in this version; use sqlite:PATH');
  }
}
