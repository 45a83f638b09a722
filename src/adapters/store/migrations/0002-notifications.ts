import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/** 0002_notifications: what the notification dispatcher needs beyond the outbox. */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  // Set just before a delivery goes out, cleared by its result: found still set, the
  // process died mid-send and the send's fate is unknown (customer emails are then not
  // resent, so nobody is emailed twice).
  await db.schema.alterTable('outbox').addColumn('sending_at', caps.bigint).execute();
  await createNotificationGroups(db, caps);
  await createSlackThreads(db, caps);
}

/**
 * Escalations with the same key inside a window: one Slack message updated in place, one
 * summary email at the end of the window.
 */
async function createNotificationGroups(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
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
}

/** The Slack message of a stalled refund, so reminders go in its thread. */
async function createSlackThreads(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
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
}
