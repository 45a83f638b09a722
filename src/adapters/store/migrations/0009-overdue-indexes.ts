import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/**
 * 0009_overdue_indexes: the deadline sweep's two questions, each an index range (bench/store-scale
 * found the sweep scanning every open refund: 170 ms at 1M refunds on SQLite). Open refunds past
 * their give-up point, and those of them not yet stalled past their stall point, by recorded_at.
 * The predicates are literal text, and listOverdue repeats them word for word: SQLite uses a
 * partial index only when the query's WHERE contains the index's terms.
 */
export async function up(db: Kysely<any>, _caps: DialectCapabilities): Promise<void> {
  await db.schema
    .createIndex('refunds_open_recorded')
    .on('refunds')
    .column('recorded_at')
    .where(sql.raw<boolean>(OPEN))
    .execute();
  await db.schema
    .createIndex('refunds_unstalled_recorded')
    .on('refunds')
    .column('recorded_at')
    .where(sql.raw<boolean>(`${OPEN} and stalled_at is null`))
    .execute();
}

/** Shared with the query (src/adapters/store/refunds.ts), so the two never drift apart. */
export const OPEN = "status in ('pending', 'stalled') and given_up_at is null";
