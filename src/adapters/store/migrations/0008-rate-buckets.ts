import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/**
 * 0008_rate_buckets: one token bucket per Antom client id, shared by every instance on the store
 * (docs/operations.md, "One Antom budget"): the tokens left, when they were last refilled, and the
 * slow-down a traffic-limit answer put on the whole cluster.
 */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await db.schema
    .createTable('rate_buckets')
    .addColumn('bucket', 'text', (c) => c.primaryKey())
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    .addColumn('refilled_at', caps.bigint, (c) => c.notNull())
    .addColumn('slow_until', caps.bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('slow_factor', 'double precision', (c) => c.notNull().defaultTo(1))
    .execute();
}
