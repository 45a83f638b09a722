import type { NewRefund } from '../../domain/refund.js';
import { encodeJson, type DialectCapabilities } from './dialects.js';

/**
 * Pure statement builders for the hot paths (pg-boss's plans.ts habit): SQL text you can read and
 * test, and a thin executor elsewhere. The ingest writes thousands of rows a second; building
 * them through the query builder cost ~45 µs a row (one frozen AST node per value), plain SQL
 * with positional parameters costs a few.
 */

const TRACK_COLUMNS = [
  'key',
  'refund_id',
  'refund_request_id',
  'payment_id',
  'amount_currency',
  'amount_value',
  'merchant_account_id',
  'payment_method_type',
  'refund_reason',
  'customer_email',
  'customer_name',
  'customer_locale',
  'metadata',
  'initiated_at',
  'origin',
  'status',
  'next_poll_at',
  'recorded_at',
  'updated_at',
  'antom_api',
] as const;

const trackSqlCache = new Map<string, string>();

/**
 * `INSERT … ON CONFLICT DO NOTHING RETURNING key` for `rows` refunds. The text depends only on
 * the dialect and the row count, so the driver's prepared-statement cache reuses it.
 */
export function trackInsertSql(caps: DialectCapabilities, rows: number): string {
  const cacheKey = `${caps.name}:${rows}`;
  const cached = trackSqlCache.get(cacheKey);
  if (cached) return cached;
  const width = TRACK_COLUMNS.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const slots: string[] = [];
    for (let c = 0; c < width; c++) {
      const n = r * width + c + 1;
      const placeholder = caps.placeholder === 'dollar' ? `$${n}` : '?';
      slots.push(caps.jsonColumnsCast && (TRACK_COLUMNS[c] === 'metadata' || TRACK_COLUMNS[c] === 'origin') ? `${placeholder}::jsonb` : placeholder);
    }
    tuples.push(`(${slots.join(', ')})`);
  }
  // No conflict target: a clash on the key or on refund_request_id both mean "already tracked".
  const sql = `insert into refunds (${TRACK_COLUMNS.join(', ')}) values ${tuples.join(', ')} on conflict do nothing returning key`;
  trackSqlCache.set(cacheKey, sql);
  return sql;
}

/** Rows per statement: as many as the parameter limit allows, capped to keep statements small. */
export function trackRowsPerStatement(caps: DialectCapabilities): number {
  return Math.min(500, Math.floor(caps.maxParameters / TRACK_COLUMNS.length));
}

/** The parameters of one refund, in TRACK_COLUMNS order. */
export function trackParams(caps: DialectCapabilities, r: NewRefund, now: number, firstPollAt: number, antomApi: string | null = null): unknown[] {
  return [
    r.id,
    r.refundId ?? null,
    r.refundRequestId ?? null,
    r.paymentId,
    r.refundAmount?.currency ?? null,
    r.refundAmount?.value ?? null,
    r.merchantAccountId ?? null,
    r.paymentMethodType ?? null,
    r.refundReason ?? null,
    r.customer?.email ?? null,
    r.customer?.name ?? null,
    r.customer?.locale ?? null,
    encodeJson(caps, r.metadata),
    r.initiatedAt,
    encodeJson(caps, r.origin),
    'pending',
    firstPollAt,
    now,
    now,
    antomApi,
  ];
}
