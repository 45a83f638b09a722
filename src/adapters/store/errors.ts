import { StoreRefusedDataError, StoreUnavailableError } from '../../domain/errors.js';

/**
 * Tells "the store refuses this data" from "the store cannot be written now" (docs/store.md,
 * "Errors"). Only the first may ever cost a record (it is dead-lettered with the reason); the
 * second is an outage: nothing is dead-lettered, nothing is committed, the write is retried.
 *
 * When in doubt it is an outage. Mistaking an outage for bad data moves valid refunds to the
 * dead-letter topic, where nobody polls them; mistaking bad data for an outage only pauses a
 * partition until an operator looks, which the breaker and /readyz make visible.
 */
export function classifyStoreError(err: unknown): StoreRefusedDataError | StoreUnavailableError {
  if (err instanceof StoreRefusedDataError || err instanceof StoreUnavailableError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string') {
    // PostgreSQL: a five-character SQLSTATE. Class 22 is "data exception" (a value the column
    // cannot hold: invalid text encoding, NUL in text, numeric out of range), class 23
    // "integrity constraint violation". Anything else (08 connection, 25006 read-only
    // transaction, 42501 privilege, 53 insufficient resources, 57014 statement timeout, 57P01
    // admin shutdown, 40001 serialisation) is about the server, not the row.
    if (/^[0-9A-Z]{5}$/.test(code)) {
      if (code.startsWith('22') || code.startsWith('23')) return new StoreRefusedDataError(`the store refused the data (SQLSTATE ${code}): ${message}`, `SQLSTATE_${code}`, err);
      return new StoreUnavailableError(`the store cannot be written (SQLSTATE ${code}): ${message}`, `SQLSTATE_${code}`, err);
    }
    // SQLite: extended result codes by name. CONSTRAINT (and its extended codes), MISMATCH and
    // TOOBIG describe the row; BUSY, LOCKED, FULL, READONLY, IOERR, CANTOPEN, CORRUPT, NOMEM,
    // INTERRUPT describe the database file or the process.
    if (code.startsWith('SQLITE_')) {
      if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG') {
        return new StoreRefusedDataError(`the store refused the data (${code}): ${message}`, code, err);
      }
      return new StoreUnavailableError(`the store cannot be written (${code}): ${message}`, code, err);
    }
  }
  return new StoreUnavailableError(`the store failed: ${message}`, typeof code === 'string' && code !== '' ? code : 'STORE_FAILED', err);
}
