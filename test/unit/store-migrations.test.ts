import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseIntrospector,
  type DialectAdapter,
  type QueryCompiler,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { POSTGRES, SQLITE, type DialectCapabilities } from '../../src/adapters/store/dialects.js';
import { migrationProvider } from '../../src/adapters/store/migrations/index.js';

/**
 * Released migrations never change. Kysely records each one by name in kysely_migration, so a
 * renamed migration would run again on an existing database and a reordered one would be refused;
 * and a migration whose statements changed would leave old and new databases with different
 * schemas. The names are pinned here, the statements in the .sql files beside this test (written
 * from the migrations as released; compiled without a database, like the claim statements).
 * A new migration joins RELEASED when it ships; `npx vitest run -u` then appends its statements.
 */
const RELEASED = ['0001_initial', '0002_notifications', '0003_reliability', '0004_antom_binding', '0005_structured_groups', '0006_cluster_jobs', '0007_retention', '0008_rate_buckets', '0009_overdue_indexes', '0010_status_counts', '0011_console_lookups'];

interface Backend {
  caps: DialectCapabilities;
  adapter: () => DialectAdapter;
  compiler: () => QueryCompiler;
  introspector: (db: Kysely<any>) => DatabaseIntrospector;
}
const backends: Backend[] = [
  { caps: SQLITE, adapter: () => new SqliteAdapter(), compiler: () => new SqliteQueryCompiler(), introspector: (k) => new SqliteIntrospector(k) },
  { caps: POSTGRES, adapter: () => new PostgresAdapter(), compiler: () => new PostgresQueryCompiler(), introspector: (k) => new PostgresIntrospector(k) },
];

describe('store migrations', () => {
  it('keep the names existing databases recorded, in the order kysely runs them (by name)', async () => {
    const names = Object.keys(await migrationProvider(SQLITE).getMigrations());
    expect(names.slice(0, RELEASED.length)).toEqual(RELEASED);
    expect(names).toEqual([...names].sort());
  });

  for (const backend of backends) {
    it(`issue the released statements on ${backend.caps.name}`, async () => {
      const statements: string[] = [];
      const db = new Kysely<any>({
        dialect: {
          createAdapter: backend.adapter,
          createDriver: () => new DummyDriver(),
          createIntrospector: backend.introspector,
          createQueryCompiler: backend.compiler,
        },
        log: (event) => {
          const params = event.query.parameters.length > 0 ? ` -- ${JSON.stringify(event.query.parameters)}` : '';
          statements.push(`${event.query.sql};${params}`);
        },
      });
      const migrations = await migrationProvider(backend.caps).getMigrations();
      for (const name of RELEASED) {
        statements.push(`-- ${name}`);
        await migrations[name]!.up(db);
      }
      await expect(`${statements.join('\n')}\n`).toMatchFileSnapshot(`./store-migrations.${backend.caps.name}.sql`);
    });
  }
});
