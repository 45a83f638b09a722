import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { RefundStore } from '../../app/ports.js';
import type { DialectCapabilities } from './dialects.js';
import type { Database } from './schema.js';

/**
 * Retention (docs/store.md, "Retention"): what is kept of a refund after it became final. Customer
 * name and email are erased after CUSTOMER_DATA_RETENTION, from the refund and from every outbox
 * payload that carries them; timeline, Slack thread and closed group rows are deleted after
 * HISTORY_RETENTION. The refund row itself stays, as a tombstone: a replayed record finds it and
 * tracks nothing, so nobody is emailed again.
 */
export function retentionOperations(db: Kysely<Database>, caps: DialectCapabilities) {
  return {
    eraseCustomerData: ({ finalBefore, limit }) =>
      db.transaction().execute(async (trx) => {
        const keys = await finalRefunds(trx, finalBefore, limit, (eb) => eb.or([eb('customer_email', 'is not', null), eb('customer_name', 'is not', null)]));
        if (keys.length === 0) return 0;
        // Notices carry the customer at the top; deliveries in their subject.
        await trx.updateTable('outbox').set({ payload: withoutPaths(caps, [['customer'], ['subject', 'customer']]) }).where('refund_key', 'in', keys).execute();
        await trx.updateTable('refunds').set({ customer_email: null, customer_name: null }).where('key', 'in', keys).execute();
        return keys.length;
      }),

    pruneHistory: ({ finalBefore, limit }) =>
      db.transaction().execute(async (trx) => {
        const keys = await finalRefunds(trx, finalBefore, limit, (eb) =>
          eb.or([
            eb.exists(eb.selectFrom('timeline').select('id').whereRef('timeline.refund_key', '=', 'refunds.key')),
            eb.exists(eb.selectFrom('slack_threads').select('ts').whereRef('slack_threads.refund_key', '=', 'refunds.key')),
          ]),
        );
        const timeline = keys.length === 0 ? 0 : Number((await trx.deleteFrom('timeline').where('refund_key', 'in', keys).executeTakeFirst()).numDeletedRows);
        const threads = keys.length === 0 ? 0 : Number((await trx.deleteFrom('slack_threads').where('refund_key', 'in', keys).executeTakeFirst()).numDeletedRows);
        const groupIds = (
          await trx.selectFrom('notification_groups').select('id').where('closed', '=', 1).where('window_end', '<', finalBefore).limit(limit).execute()
        ).map((g) => g.id);
        if (groupIds.length > 0) {
          await trx.deleteFrom('notification_group_members').where('group_id', 'in', groupIds).execute();
          await trx.deleteFrom('notification_groups').where('id', 'in', groupIds).execute();
        }
        return { refunds: keys.length, timeline, threads, groups: groupIds.length };
      }),
  } satisfies Partial<RefundStore>;
}

/**
 * Up to `limit` keys of refunds final before `before` that still hold what `holding` asks about,
 * oldest final first (the partial index refunds_finalized).
 */
async function finalRefunds(
  db: Kysely<Database>,
  before: number,
  limit: number,
  holding: (eb: ExpressionBuilder<Database, 'refunds'>) => Expression<SqlBool>,
): Promise<string[]> {
  const rows = await db.selectFrom('refunds').select('key').where('finalized_at', '<', before).where(holding).orderBy('finalized_at').limit(limit).execute();
  return rows.map((r) => r.key);
}

/** The payload column without the given paths (each a list of keys), in the dialect's own terms. */
function withoutPaths(caps: DialectCapabilities, paths: ReadonlyArray<readonly string[]>): RawBuilder<unknown> {
  if (caps.jsonRemove === 'json_remove') {
    const args = paths.map((p) => sql.lit(`$.${p.join('.')}`));
    return sql`json_remove(payload, ${sql.join(args)})`;
  }
  return paths.reduce<RawBuilder<unknown>>((expr, p) => sql`${expr} #- ${sql.lit(`{${p.join(',')}}`)}`, sql`payload`);
}
