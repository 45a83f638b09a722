import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { RefundFilter, StalledSummary } from '../../app/ports.js';
import type { TrackedRefund, TrackingStatus } from '../../domain/refund.js';
import type { DialectCapabilities } from './dialects.js';
import { FAILED } from './migrations/0011-console-lookups.js';
import { refundFromRow } from './rows.js';
import type { Database, RefundsTable } from './schema.js';

/**
 * Refunds read for people (the admin API and the operations console): listings with keyset
 * pagination, lookups by payment id, customer email or reason code (migration 0011's indexes),
 * and the counts the console's overview shows.
 */

const STATUSES: ReadonlySet<string> = new Set<TrackingStatus>(['pending', 'stalled', 'completed', 'failed']);

/**
 * The index a filter is served by, named on SQLite (INDEXED BY, a dialect capability): without
 * statistics SQLite would take refunds_status for `status = 'failed'` and scan every failed
 * refund of every code. PostgreSQL's planner chooses from its statistics.
 */
function lookupIndex(filter: RefundFilter): string | undefined {
  if (filter.paymentId !== undefined) return 'refunds_payment_id';
  if (filter.customerEmail !== undefined) return 'refunds_customer_email';
  if (filter.status === 'failed' && filter.reasonCode !== undefined) return 'refunds_failed_reason';
  return undefined;
}

export async function listRefunds(db: Kysely<Database>, caps: DialectCapabilities, filter: RefundFilter): Promise<TrackedRefund[]> {
  const limit = Math.min(filter.limit ?? 100, 1000);
  const terms: RawBuilder<unknown>[] = [];
  if (filter.status !== undefined) {
    if (!STATUSES.has(filter.status)) throw new Error(`no such refund status: ${JSON.stringify(filter.status)}`);
    // A literal, not a parameter: a partial index (`status = 'failed'`) is usable only for a
    // query whose WHERE names the same literal. The value was checked against the four statuses.
    terms.push(sql.raw(filter.status === 'failed' ? FAILED : `status = '${filter.status}'`));
  }
  if (filter.reasonCode !== undefined) terms.push(sql`reason_code = ${filter.reasonCode}`);
  if (filter.paymentId !== undefined) terms.push(sql`payment_id = ${filter.paymentId}`);
  if (filter.customerEmail !== undefined) terms.push(sql`customer_email = ${filter.customerEmail}`);
  if (filter.after !== undefined) terms.push(sql`key > ${filter.after}`);
  const index = lookupIndex(filter);
  const from = sql.raw(caps.indexedBy && index ? `refunds indexed by ${index}` : 'refunds');
  const where = terms.length > 0 ? sql`where ${sql.join(terms, sql` and `)}` : sql``;
  const query = sql<Selectable<RefundsTable>>`select * from ${from} ${where} order by key limit ${limit}`;
  return (await query.execute(db)).rows.map((row) => refundFromRow(caps, row));
}

export async function summarizeStalled(db: Kysely<Database>): Promise<StalledSummary> {
  // A range of refunds_status: stalled refunds are few (they are the ones people are told about).
  const row = await db
    .selectFrom('refunds')
    .select([sql<number>`count(*)`.as('stalled'), sql<number>`count(given_up_at)`.as('given_up'), sql<number | null>`min(stalled_at)`.as('oldest')])
    .where('status', '=', 'stalled')
    .executeTakeFirstOrThrow();
  return {
    stalled: Number(row.stalled),
    givenUp: Number(row.given_up),
    ...(row.oldest === null || row.oldest === undefined ? {} : { oldestStalledAt: Number(row.oldest) }),
  };
}

export async function countFailedByReason(db: Kysely<Database>, caps: DialectCapabilities): Promise<Array<{ reasonCode?: string; refunds: number }>> {
  const from = sql.raw(caps.indexedBy ? 'refunds indexed by refunds_failed_reason' : 'refunds');
  const query = sql<{ reason_code: string | null; n: number }>`select reason_code, count(*) as n from ${from} where ${sql.raw(FAILED)} group by reason_code`;
  const rows = (await query.execute(db)).rows.map((r) => ({ ...(r.reason_code === null ? {} : { reasonCode: r.reason_code }), refunds: Number(r.n) }));
  return rows.sort((a, b) => b.refunds - a.refunds || (a.reasonCode ?? '').localeCompare(b.reasonCode ?? ''));
}
