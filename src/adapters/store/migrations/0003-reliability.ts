import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/** 0003_reliability: the readiness probe's write, and what delivery retries and outages need. */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  // The readiness probe writes here (an upsert of this instance's row): a store that
  // answers reads but refuses writes (read-only standby, disk full, a held write lock)
  // must not look healthy.
  await db.schema
    .createTable('instances')
    .addColumn('owner', 'text', (c) => c.primaryKey())
    .addColumn('started_at', caps.bigint, (c) => c.notNull())
    .addColumn('seen_at', caps.bigint, (c) => c.notNull())
    .execute();
  // Fallback and give-up are measured from the first failure of a run, not from creation
  // (a delivery created long ago and failing once must not fall back at once).
  await db.schema.alterTable('outbox').addColumn('failing_since', caps.bigint).execute();
  await db.schema
    .createTable('channel_outages')
    .addColumn('channel', 'text', (c) => c.primaryKey())
    .addColumn('since', caps.bigint, (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('announced_at', caps.bigint)
    .execute();
  // The outage notices count what waits on one receiver.
  await db.schema
    .createIndex('outbox_pending_channel')
    .on('outbox')
    .columns(['channel', 'next_attempt_at'])
    .where(sql.ref('status'), '=', 'pending')
    .execute();
}
