/**
 * The schema, versioned, one file per migration (graphile-worker's layout). The list is code, not
 * files found at run time, so the compiled service and the tests run exactly the same migrations.
 *
 * Adding a migration is one new file and one entry here: write `NNNN-what.ts` beside these,
 * exporting `up(db, caps)` (and `down(db, caps)` if it can be undone), then import it below
 * (`import * as what from './NNNN-what.js'`) and append `['NNNN_what', what]` to MIGRATIONS. The
 * name in that entry is what kysely records in `kysely_migration`, and kysely runs migrations in
 * name order, so it must sort after every name before it (the test checks).
 *
 * Never edit, rename or reorder a migration that has been released: an existing database would
 * run it again, refuse to start, or end up with another schema than a new one.
 * test/unit/store-migrations.test.ts pins the released names and the statements each one issues.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';
import * as initial from './0001-initial.js';
import * as notifications from './0002-notifications.js';
import * as reliability from './0003-reliability.js';
import * as antomBinding from './0004-antom-binding.js';
import * as structuredGroups from './0005-structured-groups.js';
import * as clusterJobs from './0006-cluster-jobs.js';
import * as retention from './0007-retention.js';
import * as rateBuckets from './0008-rate-buckets.js';
import * as overdueIndexes from './0009-overdue-indexes.js';
import * as statusCounts from './0010-status-counts.js';
import * as consoleLookups from './0011-console-lookups.js';

/** One migration: the backend's capabilities decide column types (pg-boss's flags as data). */
export interface StoreMigration {
  up(db: Kysely<any>, caps: DialectCapabilities): Promise<void>;
  down?(db: Kysely<any>, caps: DialectCapabilities): Promise<void>;
}

export const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: StoreMigration]> = [
  ['0001_initial', initial],
  ['0002_notifications', notifications],
  ['0003_reliability', reliability],
  ['0004_antom_binding', antomBinding],
  ['0005_structured_groups', structuredGroups],
  ['0006_cluster_jobs', clusterJobs],
  ['0007_retention', retention],
  ['0008_rate_buckets', rateBuckets],
  ['0009_overdue_indexes', overdueIndexes],
  ['0010_status_counts', statusCounts],
  ['0011_console_lookups', consoleLookups],
];

export function migrationProvider(caps: DialectCapabilities): MigrationProvider {
  const migrations: Record<string, Migration> = {};
  for (const [name, migration] of MIGRATIONS) {
    const { down } = migration;
    migrations[name] = {
      up: (db) => migration.up(db, caps),
      down: down ? (db) => down(db, caps) : undefined,
    };
  }
  return { getMigrations: async () => migrations };
}
