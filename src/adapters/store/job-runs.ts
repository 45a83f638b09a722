import type { Kysely } from 'kysely';
import type { RefundStore } from '../../app/ports.js';
import type { Database } from './schema.js';

/**
 * Scheduled jobs once per cluster (docs/operations.md): the first instance to insert a job's row
 * for a period runs it; the primary key makes every other insert a no-op, on SQLite and
 * PostgreSQL alike, without a lock held for the run.
 */
export function jobRunOperations(db: Kysely<Database>) {
  return {
    claimJobRun: async ({ job, period, owner, now }) => {
      const result = await db
        .insertInto('job_runs')
        .values({ job, period, owner, claimed_at: now })
        .onConflict((oc) => oc.columns(['job', 'period']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    pruneJobRuns: async (before) => {
      const result = await db.deleteFrom('job_runs').where('claimed_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  } satisfies Partial<RefundStore>;
}
