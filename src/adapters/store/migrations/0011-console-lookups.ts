import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/**
 * 0011_console_lookups: what the operations console asks by something other than the tracking
 * key (docs/operations.md, "Console"). No earlier index serves these: refunds_refund_id holds only
 * v1 rows, refunds_status orders by updated_at.
 *  - by payment id: a payment has one refund or a few, so the sort by key after the range is free;
 *  - by customer email: only rows that still have one (retention erases them), so the index
 *    shrinks as refunds age; `customer_email = ?` implies the predicate on both backends;
 *  - failed refunds by reason code, in key order (the console's list and its counts per code): an
 *    index-only walk of failed refunds, never of the whole table.
 * Numbered 0011: 0010 is taken by work on another branch (the numbers only have to sort).
 */
export async function up(db: Kysely<any>, _caps: DialectCapabilities): Promise<void> {
  await db.schema.createIndex('refunds_payment_id').on('refunds').column('payment_id').execute();
  await db.schema
    .createIndex('refunds_customer_email')
    .on('refunds')
    .column('customer_email')
    .where(sql.ref('customer_email'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('refunds_failed_reason')
    .on('refunds')
    .columns(['reason_code', 'key'])
    .where(sql.raw<boolean>(FAILED))
    .execute();
}

/**
 * The partial index's predicate, shared with the queries (src/adapters/store/refund-lookups.ts):
 * SQLite uses a partial index only when the query's WHERE contains its terms word for word.
 */
export const FAILED = "status = 'failed'";
