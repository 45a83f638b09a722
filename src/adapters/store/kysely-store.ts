import { Migrator, sql, type Kysely } from 'kysely';
import type { RefundStore } from '../../app/ports.js';
import type { DialectCapabilities } from './dialects.js';
import { jobRunOperations } from './job-runs.js';
import { migrationProvider } from './migrations/index.js';
import { notificationStateOperations } from './notification-state.js';
import { outboxOperations } from './outbox.js';
import { rateBucketOperations } from './rate-buckets.js';
import { refundOperations } from './refunds.js';
import { retentionOperations } from './retention.js';
import type { Database } from './schema.js';

/**
 * The RefundStore over Kysely: one implementation for SQLite and PostgreSQL, with what differs
 * between them read from `caps`. Each aggregate lives in its own file (refunds.ts with
 * track-refunds.ts, outbox.ts, notification-state.ts, job-runs.ts, retention.ts, rate-buckets.ts); this assembles them and adds the store's
 * own lifecycle: migrations, probes, close.
 */
export function createKyselyStore(db: Kysely<Database>, caps: DialectCapabilities): RefundStore {
  let closing: Promise<void> | undefined;
  return {
    ...refundOperations(db, caps),
    ...outboxOperations(db, caps),
    ...notificationStateOperations(db, caps),
    ...jobRunOperations(db),
    ...retentionOperations(db, caps),
    ...rateBucketOperations(db),

    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider(caps) });
      const { error, results } = await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw new Error(`store migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`, {
          cause: error,
        });
      }
    },

    async ping() {
      await sql`select 1`.execute(db);
    },

    async heartbeat(owner, now) {
      await db
        .insertInto('instances')
        .values({ owner, started_at: now, seen_at: now })
        .onConflict((oc) => oc.column('owner').doUpdateSet({ seen_at: now }))
        .execute();
    },

    close() {
      closing ??= db.destroy();
      return closing;
    },
  };
}
