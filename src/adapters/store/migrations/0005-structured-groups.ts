import type { Kysely } from 'kysely';
import { groupKeyFromLegacy, type OpsReceiver } from '../../../domain/routing.js';
import { encodeJson, type DialectCapabilities } from '../dialects.js';

/**
 * 0005_structured_groups: groups keep their receiver and key as structure, and when their
 * receiver began failing (docs/notifications.md,
 * "Dedupe keys and grouping"): the receiver (`{ type: 'slack', channel }` or `{ type: 'email', to }`)
 * and the key's parts (each groupBy field with its value). The text columns `receiver` and
 * `group_key` stay as the lookup identity of the open group, compared and never parsed. Rows
 * written before this migration are read once here, the only place their text is taken apart.
 */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  await db.schema.alterTable('notification_groups').addColumn('receiver_spec', caps.json).execute();
  await db.schema.alterTable('notification_groups').addColumn('key_parts', caps.json).execute();
  // When the group's receiver began failing (the opener's post or an update): the group falls back
  // to the other channel after NOTIFY_FALLBACK_AFTER of failures, like any ops delivery.
  await db.schema.alterTable('notification_groups').addColumn('failing_since', caps.bigint).execute();
  // A refund's retried delivery finds the group that already holds it, open or not.
  await db.schema.createIndex('notification_group_members_refund').on('notification_group_members').columns(['refund_key']).execute();
  const rows: Array<{ id: number; receiver: string; group_key: string }> = await db
    .selectFrom('notification_groups')
    .select(['id', 'receiver', 'group_key'])
    .execute();
  for (const row of rows) {
    await db
      .updateTable('notification_groups')
      .set({ receiver_spec: encodeJson(caps, legacyReceiver(row.receiver)), key_parts: encodeJson(caps, groupKeyFromLegacy(row.group_key).parts) })
      .where('id', '=', row.id)
      .execute();
  }
}

/** `slack:#chan` or `email:a@x,b@y`, as earlier versions wrote a group's receiver. */
function legacyReceiver(text: string): OpsReceiver {
  if (text.startsWith('email:')) return { type: 'email', to: text.slice('email:'.length).split(',') };
  return { type: 'slack', channel: text.replace(/^slack:/, '') };
}
