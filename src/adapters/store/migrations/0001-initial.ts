import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/** 0001_initial: the refunds being tracked, each refund's timeline, and the outbox of its effects. */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await createRefunds(db, caps);
  await createTimeline(db, caps);
  await createOutbox(db, caps);
}

async function createRefunds(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await db.schema
    .createTable('refunds')
    .addColumn('key', 'text', (c) => c.primaryKey())
    // key is the refundId whenever one is known, so refund_id needs no index of its own
    // except for the few v1 refunds tracked by refundRequestId (see refunds_refund_id).
    .addColumn('refund_id', 'text')
    .addColumn('refund_request_id', 'text', (c) => c.unique())
    .addColumn('payment_id', 'text', (c) => c.notNull())
    .addColumn('amount_currency', 'text')
    .addColumn('amount_value', 'text')
    .addColumn('merchant_account_id', 'text')
    .addColumn('payment_method_type', 'text')
    .addColumn('refund_reason', 'text')
    .addColumn('customer_email', 'text')
    .addColumn('customer_name', 'text')
    .addColumn('customer_locale', 'text')
    .addColumn('metadata', caps.json)
    .addColumn('initiated_at', 'text', (c) => c.notNull())
    .addColumn('origin', caps.json, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('last_refund_status', 'text')
    .addColumn('reason_code', 'text')
    .addColumn('result_code', 'text')
    .addColumn('result_message', 'text')
    .addColumn('refund_time', 'text')
    .addColumn('detected_by', 'text')
    .addColumn('escalated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('inquiries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('consecutive_errors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_poll_at', caps.bigint)
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', caps.bigint)
    .addColumn('recorded_at', caps.bigint, (c) => c.notNull())
    .addColumn('updated_at', caps.bigint, (c) => c.notNull())
    .addColumn('stalled_at', caps.bigint)
    .addColumn('given_up_at', caps.bigint)
    .addColumn('finalized_at', caps.bigint)
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // The poll loop's claim query walks this index in due order and stops at `now`; only
  // refunds that still need inquiries are in it, so it stays as small as the work left.
  await db.schema
    .createIndex('refunds_due')
    .on('refunds')
    .column('next_poll_at')
    .where(sql.ref('next_poll_at'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('refunds_refund_id')
    .on('refunds')
    .column('refund_id')
    .where(sql.ref('key'), '<>', sql.ref('refund_id'))
    .execute();
  await db.schema.createIndex('refunds_status').on('refunds').columns(['status', 'updated_at']).execute();
}

async function createTimeline(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await db.schema
    .createTable('timeline')
    .addColumn('id', caps.serial, (c) => (caps.name === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('refund_key', 'text', (c) => c.notNull())
    .addColumn('at', caps.bigint, (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('detail', caps.json)
    .execute();
  await db.schema.createIndex('timeline_refund').on('timeline').columns(['refund_key', 'id']).execute();
}

async function createOutbox(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await db.schema
    .createTable('outbox')
    .addColumn('id', caps.serial, (c) => (caps.name === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('refund_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('payload', caps.json, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', caps.bigint, (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', caps.bigint)
    .addColumn('last_error', 'text')
    .addColumn('created_at', caps.bigint, (c) => c.notNull())
    .addColumn('sent_at', caps.bigint)
    .execute();
  await db.schema
    .createIndex('outbox_due')
    .on('outbox')
    .column('next_attempt_at')
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema.createIndex('outbox_refund').on('outbox').column('refund_key').execute();
}
