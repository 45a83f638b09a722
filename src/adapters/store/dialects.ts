import type { ColumnDataType } from 'kysely';

/**
 * What differs between the backends, as data (pg-boss's habit): the store and the migrations
 * read these flags instead of branching on a dialect name.
 */
export interface DialectCapabilities {
  readonly name: 'sqlite' | 'postgres';
  /** Column type for epoch-millisecond times and counters that may pass 2^31. */
  readonly bigint: ColumnDataType;
  /** Column type for JSON documents. */
  readonly json: ColumnDataType;
  /** Whether the driver hands back JSON columns already parsed. */
  readonly jsonParsedByDriver: boolean;
  /** Column type of an auto-incrementing surrogate key. */
  readonly serial: ColumnDataType;
  /** `FOR UPDATE SKIP LOCKED` for claiming rows while other instances claim too. */
  readonly skipLocked: boolean;
  /** Positional parameter style of the driver: `?` or `$1`. */
  readonly placeholder: 'question' | 'dollar';
  /** Whether JSON parameters in raw statements need an explicit `::jsonb` cast. */
  readonly jsonColumnsCast: boolean;
  /**
   * Whether a query names the index it must use (SQLite's `INDEXED BY`): without statistics,
   * SQLite prefers an index on `status` to a partial index that fits the query exactly.
   */
  readonly indexedBy: boolean;
  /** How a path is removed from a JSON column: SQLite's json_remove, or PostgreSQL's jsonb `#-`. */
  readonly jsonRemove: 'json_remove' | 'jsonb-path-minus';
  /** Bound parameters one statement may carry (SQLite ≥ 3.32: 32,766; PostgreSQL wire protocol: 65,535). */
  readonly maxParameters: number;
}

export const SQLITE: DialectCapabilities = {
  name: 'sqlite',
  bigint: 'integer',
  json: 'text',
  jsonParsedByDriver: false,
  serial: 'integer',
  skipLocked: false,
  placeholder: 'question',
  jsonColumnsCast: false,
  jsonRemove: 'json_remove',
  indexedBy: true,
  maxParameters: 32_766,
};

export const POSTGRES: DialectCapabilities = {
  name: 'postgres',
  bigint: 'bigint',
  json: 'jsonb',
  jsonParsedByDriver: true,
  serial: 'bigserial',
  skipLocked: true,
  placeholder: 'dollar',
  jsonColumnsCast: true,
  jsonRemove: 'jsonb-path-minus',
  indexedBy: false,
  maxParameters: 65_535,
};

export function encodeJson(caps: DialectCapabilities, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  // pg serialises objects itself, but a bare string would be sent as text, not as JSON.
  return JSON.stringify(value);
}

export function decodeJson<T>(caps: DialectCapabilities, value: unknown): T | undefined {
  if (value === null || value === undefined) return undefined;
  if (caps.jsonParsedByDriver && typeof value !== 'string') return value as T;
  return JSON.parse(String(value)) as T;
}
