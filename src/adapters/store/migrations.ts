import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectCapabilities } from './dialects.js';
import { structuredGroupsMigration } from './migration-0005-structured-groups.js';

/**
 * The schema, versioned. Migrations are code in this file (not files found at run time), so the
 * compiled service and the tests run exactly the same list. Never edit a migration that has been
 * released; add the next one.
 */
export function migrationProvider(caps: DialectCapabilities): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_initial': {
      async up(db: Kysely<any>) {
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
      },
    },
    '0002_notifications': {
      async up(db: Kysely<any>) {
        // Set just before a delivery goes out, cleared by its result: found still set, the
        // process died mid-send and the send's fate is unknown (customer emails are then not
        // resent, so nobody is emailed twice).
        await db.schema.alterTable('outbox').addColumn('sending_at', caps.bigint).execute();

        // Escalations with the same key inside a window: one Slack message updated in place, one
        // summary email at the end of the window.
        await db.schema
          .createTable('notification_groups')
          .addColumn('id', caps.serial, (c) => (caps.name === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('receiver', 'text', (c) => c.notNull())
          .addColumn('group_key', 'text', (c) => c.notNull())
          .addColumn('template', 'text', (c) => c.notNull())
          .addColumn('playbook', 'text')
          .addColumn('window_start', caps.bigint, (c) => c.notNull())
          .addColumn('window_end', caps.bigint, (c) => c.notNull())
          .addColumn('message_channel', 'text')
          .addColumn('message_ts', 'text')
          .addColumn('dirty', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('flushed_at', caps.bigint)
          .addColumn('members_sent', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_error', 'text')
          .addColumn('closed', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createIndex('notification_groups_open')
          .on('notification_groups')
          .columns(['receiver', 'group_key', 'window_end'])
          .where(sql.ref('closed'), '=', 0)
          .execute();
        await db.schema
          .createTable('notification_group_members')
          .addColumn('group_id', caps.bigint, (c) => c.notNull())
          .addColumn('refund_key', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('member', caps.json, (c) => c.notNull())
          .addPrimaryKeyConstraint('notification_group_members_pk', ['group_id', 'refund_key'])
          .execute();

        // The Slack message of a stalled refund, so reminders go in its thread.
        await db.schema
          .createTable('slack_threads')
          .addColumn('refund_key', 'text', (c) => c.notNull())
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('channel_id', 'text', (c) => c.notNull())
          .addColumn('ts', 'text', (c) => c.notNull())
          .addColumn('posted_at', caps.bigint, (c) => c.notNull())
          .addColumn('reminders', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('reminded_at', caps.bigint)
          .addPrimaryKeyConstraint('slack_threads_pk', ['refund_key', 'channel'])
          .execute();
      },
    },
    '0003_reliability': {
      async up(db: Kysely<any>) {
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
      },
    },
    '0004_antom_binding': {
      async up(db: Kysely<any>) {
        // A refund is asked with the flavour it was tracked with, whatever ANTOM_API says later.
        await db.schema.alterTable('refunds').addColumn('antom_api', 'text').execute();
        // A failure read from an F result, waiting for a second answer to confirm it.
        await db.schema.alterTable('refunds').addColumn('unconfirmed_failure', caps.json).execute();
        // What Antom confirmed: its refundAmount, settlement amount and quote, arn.
        await db.schema.alterTable('refunds').addColumn('antom_confirmed', caps.json).execute();
      },
    },
    '0005_structured_groups': structuredGroupsMigration(caps),
  };
  return { getMigrations: async () => migrations };
}
