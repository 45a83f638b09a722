import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/**
 * 0006_cluster_jobs: one row per scheduled job run, keyed by the job and its period (a tick of its
 * schedule, or the digest's day), so each job runs once per cluster and period however many
 * instances share the store (docs/operations.md). Pruned with the outbox.
 */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await db.schema
    .createTable('job_runs')
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('claimed_at', caps.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('job_runs_pk', ['job', 'period'])
    .execute();
  await db.schema.createIndex('job_runs_claimed_at').on('job_runs').column('claimed_at').execute();
}
