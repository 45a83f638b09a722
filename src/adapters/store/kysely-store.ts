import { CompiledQuery, Migrator, sql, type Kysely, type Selectable } from 'kysely';
import type { RefundFilter, RefundStore, TrackResult } from '../../app/ports.js';
import type { NewRefund, TimelineEntry, TimelineKind, TrackedRefund, TrackingStatus } from '../../domain/refund.js';
import { decodeJson, type DialectCapabilities } from './dialects.js';
import { migrationProvider } from './migrations.js';
import type { Database, RefundsTable } from './schema.js';
import { trackInsertSql, trackParams, trackRowsPerStatement } from './statements.js';


/**
 * The RefundStore over Kysely: one implementation for SQLite and PostgreSQL, with what differs
 * between them read from `caps`.
 */
export function createKyselyStore(db: Kysely<Database>, caps: DialectCapabilities): RefundStore {
  let closing: Promise<void> | undefined;

  function fromRow(row: Selectable<RefundsTable>): TrackedRefund {
    const customer =
      row.customer_email || row.customer_name || row.customer_locale
        ? {
            email: row.customer_email ?? undefined,
            name: row.customer_name ?? undefined,
            locale: row.customer_locale ?? undefined,
          }
        : undefined;
    return {
      id: row.key,
      refundId: row.refund_id ?? undefined,
      refundRequestId: row.refund_request_id ?? undefined,
      paymentId: row.payment_id,
      refundAmount:
        row.amount_currency && row.amount_value !== null
          ? { currency: row.amount_currency, value: row.amount_value }
          : undefined,
      merchantAccountId: row.merchant_account_id ?? undefined,
      paymentMethodType: row.payment_method_type ?? undefined,
      refundReason: row.refund_reason ?? undefined,
      customer,
      initiatedAt: row.initiated_at,
      metadata: decodeJson(caps, row.metadata),
      origin: decodeJson(caps, row.origin) ?? { topic: '', partition: -1, offset: '-1' },
      status: row.status as TrackingStatus,
      lastRefundStatus: row.last_refund_status ?? undefined,
      reasonCode: row.reason_code ?? undefined,
      resultCode: row.result_code ?? undefined,
      resultMessage: row.result_message ?? undefined,
      refundTime: row.refund_time ?? undefined,
      detectedBy: (row.detected_by as 'poll' | 'notify' | null) ?? undefined,
      escalated: Boolean(row.escalated),
      inquiries: Number(row.inquiries),
      consecutiveErrors: Number(row.consecutive_errors),
      nextPollAt: optionalNumber(row.next_poll_at),
      recordedAt: Number(row.recorded_at),
      updatedAt: Number(row.updated_at),
      stalledAt: optionalNumber(row.stalled_at),
      givenUpAt: optionalNumber(row.given_up_at),
      finalizedAt: optionalNumber(row.finalized_at),
    };
  }

  return {
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

    async trackRefunds(refunds, { now, firstPollAt }): Promise<TrackResult> {
      if (refunds.length === 0) return { inserted: [], duplicates: 0 };
      // Within one batch the first record for a key wins, exactly as across batches.
      const unique = new Map<string, NewRefund>();
      for (const r of refunds) if (!unique.has(r.id)) unique.set(r.id, r);
      const rows = [...unique.values()];
      const perStatement = trackRowsPerStatement(caps);

      const insertChunk = async (executor: Kysely<Database>, chunk: NewRefund[], keys: string[]) => {
        const params: unknown[] = [];
        for (const r of chunk) params.push(...trackParams(caps, r, now, firstPollAt));
        const result = await executor.executeQuery<{ key: string }>(CompiledQuery.raw(trackInsertSql(caps, chunk.length), params));
        for (const row of result.rows) keys.push(row.key);
      };
      const inserted: string[] = [];
      if (rows.length <= perStatement) {
        // One statement is atomic on its own: no BEGIN/COMMIT round trips, which for the SQLite
        // worker means the write never waits for this thread between steps of a transaction.
        await insertChunk(db, rows, inserted);
      } else {
        await db.transaction().execute(async (trx) => {
          for (let i = 0; i < rows.length; i += perStatement) await insertChunk(trx, rows.slice(i, i + perStatement), inserted);
        });
      }
      return { inserted, duplicates: refunds.length - inserted.length };
    },

    async getRefund(key) {
      const row = await db.selectFrom('refunds').selectAll().where('key', '=', key).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },

    async listRefunds(filter: RefundFilter) {
      let query = db.selectFrom('refunds').selectAll().orderBy('key').limit(Math.min(filter.limit ?? 100, 1000));
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.after) query = query.where('key', '>', filter.after);
      return (await query.execute()).map(fromRow);
    },

    async countByStatus() {
      const rows = await db
        .selectFrom('refunds')
        .select(['status', sql<number>`count(*)`.as('n')])
        .groupBy('status')
        .execute();
      const counts: Record<TrackingStatus, number> = { pending: 0, stalled: 0, completed: 0, failed: 0 };
      for (const row of rows) counts[row.status as TrackingStatus] = Number(row.n);
      return counts;
    },

    async timeline(key) {
      // The "tracked" entry is derived from the refund row itself rather than written on every
      // ingest: it halves the rows the hot path writes and cannot disagree with the row.
      const refund = await db
        .selectFrom('refunds')
        .select(['recorded_at', 'origin', 'next_poll_at'])
        .where('key', '=', key)
        .executeTakeFirst();
      if (!refund) return [];
      const origin = decodeJson<NewRefund['origin']>(caps, refund.origin);
      const tracked: TimelineEntry = {
        refundKey: key,
        at: Number(refund.recorded_at),
        kind: 'tracked',
        message: origin ? `tracked from ${origin.topic}[${origin.partition}]@${origin.offset}` : 'tracked',
        detail: { origin },
      };
      const rows = await db
        .selectFrom('timeline')
        .selectAll()
        .where('refund_key', '=', key)
        .orderBy('id')
        .execute();
      return [tracked, ...rows.map(
        (row): TimelineEntry => ({
          refundKey: row.refund_key,
          at: Number(row.at),
          kind: row.kind as TimelineKind,
          message: row.message,
          detail: decodeJson(caps, row.detail),
        }),
      )];
    },

    async ping() {
      await sql`select 1`.execute(db);
    },

    close() {
      closing ??= db.destroy();
      return closing;
    },
  };
}

function optionalNumber(value: number | string | null): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}
