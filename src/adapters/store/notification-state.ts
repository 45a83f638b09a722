import { sql, type Kysely, type Selectable } from 'kysely';
import type { GroupMember, NotificationGroup, NotificationStateStore, SlackThread } from '../../app/ports.js';
import type { TrackedRefund } from '../../domain/refund.js';
import { groupIdentity, receiverKey } from '../../domain/routing.js';
import { decodeJson, encodeJson, type DialectCapabilities } from './dialects.js';
import { groupFromRow, refundFromRow, threadFromRow } from './rows.js';
import type { Database, RefundsTable } from './schema.js';

/**
 * What notifications keep beyond the outbox: escalation groups updated in place, and the Slack
 * threads reminders go to (docs/notifications.md).
 */

/** The notification-state methods of the RefundStore, for kysely-store.ts to assemble. */
export function notificationStateOperations(db: Kysely<Database>, caps: DialectCapabilities) {
  return {
    addGroupMember: (input) => addGroupMember(db, caps, input),
    groupMembers: (groupId) => groupMembers(db, caps, groupId),
    markGroupFlushed: (groupId, update) => markGroupFlushed(db, groupId, update),
    markGroupFailed: (groupId, error, now) => markGroupFailed(db, groupId, error, now),
    listGroupsToFlush: (now, debounceMs) => listGroupsToFlush(db, caps, now, debounceMs),
    closeGroup: (groupId) => closeGroup(db, groupId),
    saveThread: (thread) => saveThread(db, thread),
    getThread: (refundKey, channel) => getThread(db, refundKey, channel),
    listRemindersDue: (now, intervalMs, limit) => listRemindersDue(db, caps, now, intervalMs, limit),
    markReminded: (refundKey, channel, now) => markReminded(db, refundKey, channel, now),
  } satisfies Partial<NotificationStateStore>;
}

type AddGroupMemberInput = Parameters<NotificationStateStore['addGroupMember']>[0];

async function addGroupMember(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  { receiver, key, playbook, member, windowMs, now }: AddGroupMemberInput,
): Promise<{ group: NotificationGroup; created: boolean; added: boolean }> {
  return db.transaction().execute(async (trx) => {
    const holding = await trx
      .selectFrom('notification_groups')
      .innerJoin('notification_group_members', 'notification_group_members.group_id', 'notification_groups.id')
      .selectAll('notification_groups')
      .where('notification_group_members.refund_key', '=', member.refundKey)
      .where('notification_groups.receiver', '=', receiverKey(receiver))
      .where('notification_groups.group_key', '=', groupIdentity(key))
      .orderBy('notification_groups.id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (holding) return { group: groupFromRow(caps, holding), created: false, added: false };
    let row = await trx
      .selectFrom('notification_groups')
      .selectAll()
      .where('receiver', '=', receiverKey(receiver))
      .where('group_key', '=', groupIdentity(key))
      .where('closed', '=', 0)
      .where('window_end', '>', now)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    let created = false;
    if (!row) {
      row = await trx
        .insertInto('notification_groups')
        .values({
          receiver: receiverKey(receiver),
          group_key: groupIdentity(key),
          template: key.template,
          receiver_spec: encodeJson(caps, receiver),
          key_parts: encodeJson(caps, key.parts),
          playbook: playbook ?? null,
          window_start: now,
          window_end: now + windowMs,
          message_channel: null,
          message_ts: null,
          // The member that opens a group is sent by its own delivery; the flusher only
          // takes over for later members, after the update interval.
          dirty: 0,
          flushed_at: now,
          members_sent: 0,
          last_error: null,
          failing_since: null,
          closed: 0,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      created = true;
    }
    const count = await trx
      .selectFrom('notification_group_members')
      .select(sql<number>`count(*)`.as('n'))
      .where('group_id', '=', row.id)
      .executeTakeFirstOrThrow();
    const inserted = await trx
      .insertInto('notification_group_members')
      .values({ group_id: row.id, refund_key: member.refundKey, seq: Number(count.n) + 1, member: encodeJson(caps, member) as unknown })
      .onConflict((oc) => oc.columns(['group_id', 'refund_key']).doNothing())
      .executeTakeFirst();
    const added = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
    if (added && !row.dirty) {
      await trx.updateTable('notification_groups').set({ dirty: 1 }).where('id', '=', row.id).execute();
      row = { ...row, dirty: 1 };
    }
    return { group: groupFromRow(caps, row), created, added };
  });
}

async function groupMembers(db: Kysely<Database>, caps: DialectCapabilities, groupId: number): Promise<GroupMember[]> {
  const rows = await db
    .selectFrom('notification_group_members')
    .select('member')
    .where('group_id', '=', groupId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => decodeJson<GroupMember>(caps, r.member)!);
}

async function markGroupFlushed(
  db: Kysely<Database>,
  groupId: number,
  { now, messageChannel, messageTs, membersSent }: { now: number; messageChannel?: string; messageTs?: string; membersSent?: number },
): Promise<void> {
  await db
    .updateTable('notification_groups')
    .set({
      dirty: 0,
      flushed_at: now,
      last_error: null,
      failing_since: null,
      ...(messageChannel ? { message_channel: messageChannel } : {}),
      ...(messageTs ? { message_ts: messageTs } : {}),
      members_sent: membersSent,
    })
    .where('id', '=', groupId)
    .execute();
}

async function markGroupFailed(db: Kysely<Database>, groupId: number, error: string, now: number): Promise<void> {
  await db
    .updateTable('notification_groups')
    .set({ last_error: error.slice(0, 2000), failing_since: sql<number>`coalesce(failing_since, ${now})` })
    .where('id', '=', groupId)
    // A closed group keeps what it ended with (where it fell back to): a late failure of one of its
    // deliveries must not overwrite it.
    .where('closed', '=', 0)
    .execute();
}

async function listGroupsToFlush(db: Kysely<Database>, caps: DialectCapabilities, now: number, debounceMs: number): Promise<NotificationGroup[]> {
  const rows = await db
    .selectFrom('notification_groups')
    .selectAll()
    .where('closed', '=', 0)
    .where((eb) =>
      eb.or([
        eb('window_end', '<=', now),
        eb.and([eb('dirty', '=', 1), eb.or([eb('flushed_at', 'is', null), eb('flushed_at', '<=', now - debounceMs)])]),
      ]),
    )
    .orderBy('id')
    .limit(100)
    .execute();
  return rows.map((row) => groupFromRow(caps, row));
}

async function closeGroup(db: Kysely<Database>, groupId: number): Promise<void> {
  await db.updateTable('notification_groups').set({ closed: 1 }).where('id', '=', groupId).execute();
}

async function saveThread(
  db: Kysely<Database>,
  { refundKey, channel, channelId, ts, now }: { refundKey: string; channel: string; channelId: string; ts: string; now: number },
): Promise<void> {
  await db
    .insertInto('slack_threads')
    .values({ refund_key: refundKey, channel, channel_id: channelId, ts, posted_at: now, reminders: 0, reminded_at: null })
    .onConflict((oc) => oc.columns(['refund_key', 'channel']).doNothing())
    .execute();
}

async function getThread(db: Kysely<Database>, refundKey: string, channel: string): Promise<SlackThread | undefined> {
  const row = await db
    .selectFrom('slack_threads')
    .selectAll()
    .where('refund_key', '=', refundKey)
    .where('channel', '=', channel)
    .executeTakeFirst();
  return row ? threadFromRow(row) : undefined;
}

async function listRemindersDue(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  now: number,
  intervalMs: number,
  limit: number,
): Promise<Array<{ thread: SlackThread; refund: TrackedRefund }>> {
  const rows = await db
    .selectFrom('slack_threads')
    .innerJoin('refunds', 'refunds.key', 'slack_threads.refund_key')
    .selectAll('refunds')
    .select([
      'slack_threads.channel as t_channel',
      'slack_threads.channel_id as t_channel_id',
      'slack_threads.ts as t_ts',
      'slack_threads.posted_at as t_posted_at',
      'slack_threads.reminders as t_reminders',
      'slack_threads.reminded_at as t_reminded_at',
    ])
    .where('refunds.status', '=', 'stalled')
    .where(sql<number>`coalesce(slack_threads.reminded_at, slack_threads.posted_at)`, '<=', now - intervalMs)
    .orderBy('slack_threads.posted_at')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    refund: refundFromRow(caps, row as unknown as Selectable<RefundsTable>),
    thread: threadFromRow({
      refund_key: row.key,
      channel: row.t_channel,
      channel_id: row.t_channel_id,
      ts: row.t_ts,
      posted_at: row.t_posted_at,
      reminders: row.t_reminders,
      reminded_at: row.t_reminded_at,
    }),
  }));
}

async function markReminded(db: Kysely<Database>, refundKey: string, channel: string, now: number): Promise<void> {
  await db
    .updateTable('slack_threads')
    .set({ reminded_at: now, reminders: sql<number>`reminders + 1` })
    .where('refund_key', '=', refundKey)
    .where('channel', '=', channel)
    .execute();
}
