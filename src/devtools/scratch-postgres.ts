/**
 * Throw-away PostgreSQL databases for the tests and benchmarks that run several instances on one
 * database (the cluster and chaos tests, bench/cluster, bench/store-scale), on the server PG_URL
 * names (default: the local one, trust auth).
 */
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  /** The database's connection URL: DATABASE_URL for the service. */
  readonly url: string;
  /** Drops it, whoever is still connected. */
  drop(): Promise<void>;
}

/** One statement on the server's admin database (create or drop a database). */
export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new, empty database called `name` (one of that name left by a crashed run is dropped first). */
export async function createScratchDatabase(name: string): Promise<ScratchDatabase> {
  const drop = () => adminQuery(`drop database if exists "${name}" with (force)`);
  await drop();
  await adminQuery(`create database "${name}"`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop };
}
