import { CompiledQuery, Migrator, sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import type {
  ApplyInput,
  ChannelOutage,
  GroupMember,
  NotificationGroup,
  SlackThread,
  OutboxEntry,
  OutboxEntryInput,
  OutboxKind,
  OutboxStatus,
  RefundFilter,
  RefundStore,
  TrackResult,
} from '../../app/ports.js';
import type { DecisionTimelineEntry, RefundPatch } from '../../domain/decide.js';
import type { NewRefund, TimelineEntry, TimelineKind, TrackedRefund, TrackingStatus } from '../../domain/refund.js';
import { decodeJson, encodeJson, type DialectCapabilities } from './dialects.js';
import { classifyStoreError } from './errors.js';
import { migrationProvider } from './migrations.js';
import type { ChannelOutagesTable, Database, NotificationGroupsTable, OutboxTable, RefundsTable, SlackThreadsTable } from './schema.js';
import { trackInsertSql, trackParams, trackRowsPerStatement } from './statements.js';

/** Domain patch field -> column. Only what a decision may change is here. */
function patchColumns(patch: RefundPatch): Updateable<RefundsTable> {
  const out: Updateable<RefundsTable> = {};
  const set = <K extends keyof Updateable<RefundsTable>>(k: K, v: Updateable<RefundsTable>[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('status', patch.status);
  set('refund_id', patch.refundId);
  set('last_refund_status', patch.lastRefundStatus);
  set('reason_code', patch.reasonCode);
  set('result_code', patch.resultCode);
  set('result_message', patch.resultMessage);
  set('refund_time', patch.refundTime);
  set('detected_by', patch.detectedBy);
  set('escalated', patch.escalated === undefined ? undefined : patch.escalated ? 1 : 0);
  set('inquiries', patch.inquiries);
  set('consecutive_errors', patch.consecutiveErrors);
  set('next_poll_at', patch.nextPollAt);
  set('stalled_at', patch.stalledAt);
  set('given_up_at', patch.givenUpAt);
  set('finalized_at', patch.finalizedAt);
  return out;
}

/** The JSON columns a patch may set: encoded for the dialect. */
function patchJsonColumns(caps: DialectCapabilities, patch: RefundPatch): Updateable<RefundsTable> {
  const out: Updateable<RefundsTable> = {};
  if (patch.unconfirmedFailure !== undefined) out.unconfirmed_failure = patch.unconfirmedFailure === null ? null : encodeJson(caps, patch.unconfirmedFailure);
  if (patch.antomConfirmed !== undefined) out.antom_confirmed = encodeJson(caps, patch.antomConfirmed);
  return out;
}


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
      version: Number(row.version),
      ...(row.antom_api === 'v1' || row.antom_api === 'v2' ? { antomApi: row.antom_api } : {}),
      ...optionalJson<TrackedRefund['unconfirmedFailure']>('unconfirmedFailure', decodeJson(caps, row.unconfirmed_failure)),
      ...optionalJson<TrackedRefund['antomConfirmed']>('antomConfirmed', decodeJson(caps, row.antom_confirmed)),
    };
  }

  function outboxFromRow(row: Selectable<OutboxTable>): OutboxEntry {
    return {
      id: Number(row.id),
      dedupeKey: row.dedupe_key,
      refundKey: row.refund_key,
      kind: row.kind as OutboxKind,
      channel: row.channel,
      payload: decodeJson(caps, row.payload),
      status: row.status as OutboxStatus,
      attempts: Number(row.attempts),
      availableAt: Number(row.next_attempt_at),
      ...(row.last_error ? { lastError: row.last_error } : {}),
      createdAt: Number(row.created_at),
      ...(row.sent_at === null ? {} : { sentAt: Number(row.sent_at) }),
      ...(row.sending_at === null || row.sending_at === undefined ? {} : { sendingAt: Number(row.sending_at) }),
      ...(row.failing_since === null || row.failing_since === undefined ? {} : { failingSince: Number(row.failing_since) }),
    };
  }

  function outageFromRow(row: Selectable<ChannelOutagesTable>): ChannelOutage {
    return {
      channel: row.channel,
      since: Number(row.since),
      ...(row.last_error ? { lastError: row.last_error } : {}),
      ...(row.announced_at === null ? {} : { announcedAt: Number(row.announced_at) }),
    };
  }

  /** Inserts outbox entries, skipping dedupe keys already written, in chunks under the parameter limit. */
  async function insertOutbox(trx: Kysely<Database>, rows: ReturnType<typeof outboxRows>): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000) {
      await trx
        .insertInto('outbox')
        .values(rows.slice(i, i + 1000))
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .execute();
    }
  }

  function groupFromRow(row: Selectable<NotificationGroupsTable>): NotificationGroup {
    return {
      id: Number(row.id),
      receiver: row.receiver,
      groupKey: row.group_key,
      template: row.template,
      ...(row.playbook ? { playbook: row.playbook } : {}),
      windowStart: Number(row.window_start),
      windowEnd: Number(row.window_end),
      ...(row.message_channel ? { messageChannel: row.message_channel } : {}),
      ...(row.message_ts ? { messageTs: row.message_ts } : {}),
      dirty: Boolean(row.dirty),
      ...(row.flushed_at === null ? {} : { flushedAt: Number(row.flushed_at) }),
      membersSent: Number(row.members_sent),
      ...(row.last_error ? { lastError: row.last_error } : {}),
      closed: Boolean(row.closed),
    };
  }

  function threadFromRow(row: Selectable<SlackThreadsTable>): SlackThread {
    return {
      refundKey: row.refund_key,
      channel: row.channel,
      channelId: row.channel_id,
      ts: row.ts,
      postedAt: Number(row.posted_at),
      reminders: Number(row.reminders),
      ...(row.reminded_at === null ? {} : { remindedAt: Number(row.reminded_at) }),
    };
  }

  const timelineRows = (key: string, entries: readonly DecisionTimelineEntry[], now: number) =>
    entries.map((e) => ({
      refund_key: key,
      at: now,
      kind: e.kind,
      message: e.message,
      detail: encodeJson(caps, e.detail) as unknown,
    }));

  const outboxRows = (key: string, entries: readonly OutboxEntryInput[], now: number) =>
    entries.map((e) => ({
      dedupe_key: e.dedupeKey,
      refund_key: key,
      kind: e.kind,
      channel: e.channel,
      payload: encodeJson(caps, e.payload) as unknown,
      status: 'pending',
      attempts: 0,
      next_attempt_at: e.availableAt,
      lease_owner: null,
      lease_expires_at: null,
      last_error: null,
      created_at: now,
      sent_at: null,
    }));

  /**
   * `UPDATE … WHERE key IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING *`: one statement
   * that picks and leases. On SQLite the single writer makes it atomic; on PostgreSQL SKIP LOCKED
   * lets instances claim side by side without waiting on each other's rows.
   */
  function leaseCondition(now: number) {
    return (eb: any) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]);
  }

  /**
   * The records a tracking insert skipped are duplicates, except one whose refundRequestId is
   * already tracked under another refundId: the merchant reused a request id for a different
   * refund (or a producer mixed two up), and which of the two Antom knows by that request id is
   * not ours to guess. A row without a refundId, or a record without one, is the same refund seen
   * with fewer ids: a duplicate. Runs only when something was skipped (redeliveries, replays).
   */
  async function findConflicts(rows: readonly NewRefund[], inserted: ReadonlySet<string>): Promise<TrackResult['conflicts']> {
    const skipped = rows.filter((r) => !inserted.has(r.id));
    const requestIds = skipped.map((r) => r.refundRequestId).filter((id): id is string => id !== undefined);
    if (requestIds.length === 0) return [];
    const existing = new Map<string, { key: string; refundId: string | null }>();
    for (let i = 0; i < requestIds.length; i += 500) {
      const found = await db
        .selectFrom('refunds')
        .select(['key', 'refund_id', 'refund_request_id'])
        .where('refund_request_id', 'in', requestIds.slice(i, i + 500))
        .execute();
      for (const row of found) existing.set(row.refund_request_id!, { key: row.key, refundId: row.refund_id });
    }
    const conflicts: Array<{ refund: NewRefund; reason: string }> = [];
    for (const r of skipped) {
      const other = r.refundRequestId === undefined ? undefined : existing.get(r.refundRequestId);
      if (!other || other.key === r.id) continue;
      if (r.refundId !== undefined && other.refundId !== null && other.refundId !== r.refundId) {
        conflicts.push({
          refund: r,
          reason: `refundRequestId ${r.refundRequestId} is already tracked for refundId ${other.refundId}; this record names refundId ${r.refundId}`,
        });
      }
    }
    return conflicts;
  }

  async function applyDecisions(inputs: readonly ApplyInput[]): Promise<boolean[]> {
    if (inputs.length === 0) return [];
    return db.transaction().execute(async (trx) => {
      const results: boolean[] = [];
      const timeline: ReturnType<typeof timelineRows> = [];
      const outbox: ReturnType<typeof outboxRows> = [];
      // All the guarded updates are issued at once: the driver runs them in order on the one
      // connection, and the transaction pays one round trip instead of one per decision.
      const updates = await Promise.all(
        inputs.map(({ key, version, patch, now }) =>
          trx
            .updateTable('refunds')
            .set({
              ...patchColumns(patch),
              ...patchJsonColumns(caps, patch),
              updated_at: now,
              version: sql<number>`version + 1`,
              lease_owner: null,
              lease_expires_at: null,
            })
            .where('key', '=', key)
            .where('version', '=', version)
            .executeTakeFirst(),
        ),
      );
      inputs.forEach(({ key, timeline: entries, outbox: effects, now }, i) => {
        const applied = Number(updates[i]!.numUpdatedRows) === 1;
        results.push(applied);
        // A decision made on an old version writes nothing at all: not its timeline, not its effects.
        if (!applied) return;
        timeline.push(...timelineRows(key, entries, now));
        outbox.push(...outboxRows(key, effects, now));
      });
      // Multi-row inserts, chunked under the parameter limit (6 and 13 columns a row).
      for (let i = 0; i < timeline.length; i += 2000) await trx.insertInto('timeline').values(timeline.slice(i, i + 2000)).execute();
      await insertOutbox(trx, outbox);
      return results;
    });
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

    async trackRefunds(refunds, { now, firstPollAt, antomApi }): Promise<TrackResult> {
      if (refunds.length === 0) return { inserted: [], duplicates: 0, conflicts: [] };
      // Within one batch the first record for a key wins, exactly as across batches.
      const unique = new Map<string, NewRefund>();
      for (const r of refunds) if (!unique.has(r.id)) unique.set(r.id, r);
      const rows = [...unique.values()];
      const perStatement = trackRowsPerStatement(caps);

      const insertChunk = async (executor: Kysely<Database>, chunk: NewRefund[], keys: string[]) => {
        const params: unknown[] = [];
        for (const r of chunk) params.push(...trackParams(caps, r, now, firstPollAt, antomApi ?? null));
        const result = await executor.executeQuery<{ key: string }>(CompiledQuery.raw(trackInsertSql(caps, chunk.length), params));
        for (const row of result.rows) keys.push(row.key);
      };
      const inserted: string[] = [];
      try {
        if (rows.length <= perStatement) {
          // One statement is atomic on its own: no BEGIN/COMMIT round trips, which for the SQLite
          // worker means the write never waits for this thread between steps of a transaction.
          await insertChunk(db, rows, inserted);
        } else {
          await db.transaction().execute(async (trx) => {
            for (let i = 0; i < rows.length; i += perStatement) await insertChunk(trx, rows.slice(i, i + perStatement), inserted);
          });
        }
      } catch (err) {
        throw classifyStoreError(err);
      }
      const conflicts = inserted.length === rows.length ? [] : await findConflicts(rows, new Set(inserted)).catch((err: unknown) => {
        throw classifyStoreError(err);
      });
      return { inserted, duplicates: refunds.length - inserted.length - conflicts.length, conflicts };
    },

    async findRefund({ refundId, refundRequestId }) {
      if (!refundId && !refundRequestId) return undefined;
      const row = await db
        .selectFrom('refunds')
        .selectAll()
        .where((eb) => {
          const ors = [];
          if (refundId) ors.push(eb('key', '=', refundId), eb('refund_id', '=', refundId));
          if (refundRequestId) ors.push(eb('refund_request_id', '=', refundRequestId));
          return eb.or(ors);
        })
        .executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },

    async appendTimeline(key, entries, now) {
      if (entries.length > 0) await db.insertInto('timeline').values(timelineRows(key, entries, now)).execute();
    },

    async claimDue({ owner, now, limit, leaseMs }) {
      let due = db
        .selectFrom('refunds')
        .select('key')
        .where('next_poll_at', 'is not', null)
        .where('next_poll_at', '<=', now)
        .where(leaseCondition(now))
        .orderBy('next_poll_at')
        .limit(limit);
      if (caps.skipLocked) due = due.forUpdate().skipLocked();
      const rows = await db
        .updateTable('refunds')
        .set({ lease_owner: owner, lease_expires_at: now + leaseMs })
        .where('key', 'in', due)
        .returningAll()
        .execute();
      return rows.map(fromRow).sort((a, b) => (a.nextPollAt ?? 0) - (b.nextPollAt ?? 0));
    },

    async releaseLease(key, owner) {
      await db
        .updateTable('refunds')
        .set({ lease_owner: null, lease_expires_at: null })
        .where('key', '=', key)
        .where('lease_owner', '=', owner)
        .execute();
    },

    async applyDecision(input) {
      const [applied] = await applyDecisions([input]);
      return applied!;
    },

    applyDecisions,

    async nextDueAt(now) {
      // Both walk the front of the due index: refunds held under a lease are few (a claim or two).
      const free = await db
        .selectFrom('refunds')
        .select('next_poll_at')
        .where('next_poll_at', 'is not', null)
        .where(leaseCondition(now))
        .orderBy('next_poll_at')
        .limit(1)
        .executeTakeFirst();
      const held = await db
        .selectFrom('refunds')
        .select((eb) => eb.fn.min<number>('lease_expires_at').as('until'))
        .where('next_poll_at', '<=', now)
        .where('lease_expires_at', '>=', now)
        .executeTakeFirst();
      const candidates = [free?.next_poll_at, held?.until].filter((t): t is number => t !== null && t !== undefined).map(Number);
      return candidates.length === 0 ? undefined : Math.min(...candidates);
    },

    async listOverdue({ stalledBefore, giveUpBefore, limit }) {
      const rows = await db
        .selectFrom('refunds')
        .selectAll()
        .where('status', 'in', ['pending', 'stalled'])
        .where('given_up_at', 'is', null)
        .where((eb) =>
          eb.or([
            eb.and([eb('stalled_at', 'is', null), eb('recorded_at', '<=', stalledBefore)]),
            eb('recorded_at', '<=', giveUpBefore),
          ]),
        )
        .orderBy('recorded_at')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async recheckNow(key, now) {
      const result = await db
        .updateTable('refunds')
        .set({ next_poll_at: now, updated_at: now })
        .where('key', '=', key)
        .where('status', 'in', ['pending', 'stalled'])
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async claimOutbox({ owner, now, limit, leaseMs, kinds }) {
      let due = db
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where(leaseCondition(now))
        .orderBy('id')
        .limit(limit);
      if (kinds && kinds.length > 0) due = due.where('kind', 'in', [...kinds]);
      if (caps.skipLocked) due = due.forUpdate().skipLocked();
      const rows = await db
        .updateTable('outbox')
        .set({ lease_owner: owner, lease_expires_at: now + leaseMs, attempts: sql<number>`attempts + 1` })
        .where('id', 'in', due)
        .returningAll()
        .execute();
      return rows.map(outboxFromRow).sort((a, b) => a.id - b.id);
    },

    async claimBacklog({ owner, now, limit, leaseMs, channel, createdBefore }) {
      let backlog = db
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'pending')
        .where('kind', '=', 'delivery')
        .where('channel', '=', channel)
        .where('created_at', '<', createdBefore)
        .where(leaseCondition(now))
        .orderBy('id')
        .limit(limit);
      if (caps.skipLocked) backlog = backlog.forUpdate().skipLocked();
      const rows = await db
        .updateTable('outbox')
        .set({ lease_owner: owner, lease_expires_at: now + leaseMs, attempts: sql<number>`attempts + 1` })
        .where('id', 'in', backlog)
        .returningAll()
        .execute();
      return rows.map(outboxFromRow).sort((a, b) => a.id - b.id);
    },

    async renewOutboxLeases(ids, owner, until) {
      if (ids.length === 0) return 0;
      const result = await db
        .updateTable('outbox')
        .set({ lease_expires_at: until })
        .where('id', 'in', [...ids])
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async markOutboxSent(ids, now, owner) {
      if (ids.length === 0) return 0;
      const result = await db
        .updateTable('outbox')
        .set({ status: 'sent', sent_at: now, lease_owner: null, lease_expires_at: null, last_error: null, sending_at: null, failing_since: null })
        .where('id', 'in', [...ids])
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async retryOutboxLater(id, { nextAttemptAt, error, now, owner }) {
      const result = await db
        .updateTable('outbox')
        .set({
          next_attempt_at: nextAttemptAt,
          last_error: error.slice(0, 2000),
          lease_owner: null,
          lease_expires_at: null,
          sending_at: null,
          failing_since: sql<number>`coalesce(failing_since, ${now})`,
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async markOutboxDead(id, { error, owner }) {
      const result = await db
        .updateTable('outbox')
        .set({ status: 'dead', last_error: error.slice(0, 2000), lease_owner: null, lease_expires_at: null })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async expandOutbox(items, now, owner) {
      if (items.length === 0) return;
      await db.transaction().execute(async (trx) => {
        // Only what this owner still holds is expanded: the done marks first, guarded, then the
        // entries of the items whose mark applied.
        const held = new Set<number>();
        const plain = items.filter((item) => item.doneError === undefined).map((item) => item.doneId);
        if (plain.length > 0) {
          const done = await trx
            .updateTable('outbox')
            .set({ status: 'sent', sent_at: now, lease_owner: null, lease_expires_at: null })
            .where('id', 'in', plain)
            .where('lease_owner', '=', owner)
            .returning('id')
            .execute();
          for (const r of done) held.add(Number(r.id));
        }
        for (const item of items) {
          if (item.doneError === undefined) continue;
          const done = await trx
            .updateTable('outbox')
            .set({ status: 'dead', last_error: item.doneError.slice(0, 2000), lease_owner: null, lease_expires_at: null })
            .where('id', '=', item.doneId)
            .where('lease_owner', '=', owner)
            .executeTakeFirst();
          if (Number(done.numUpdatedRows) === 1) held.add(item.doneId);
        }
        await insertOutbox(trx, items.filter((item) => held.has(item.doneId)).flatMap((item) => outboxRows(item.refundKey, item.entries, now)));
      });
    },

    async requeueOutbox(id, now) {
      const result = await db
        .updateTable('outbox')
        .set({ status: 'pending', next_attempt_at: now, lease_owner: null, lease_expires_at: null, sending_at: null, failing_since: null })
        .where('id', '=', id)
        .where('status', '=', 'dead')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async listOutbox({ status, kind, refundKey, limit }) {
      let query = db.selectFrom('outbox').selectAll().orderBy('id').limit(Math.min(limit ?? 100, 1000));
      if (status) query = query.where('status', '=', status);
      if (kind) query = query.where('kind', '=', kind);
      if (refundKey) query = query.where('refund_key', '=', refundKey);
      return (await query.execute()).map(outboxFromRow);
    },

    async countOutbox() {
      const rows = await db
        .selectFrom('outbox')
        .select(['status', sql<number>`count(*)`.as('n')])
        .groupBy('status')
        .execute();
      const counts: Record<OutboxStatus, number> = { pending: 0, sent: 0, dead: 0 };
      for (const row of rows) counts[row.status as OutboxStatus] = Number(row.n);
      return counts;
    },

    async pruneOutbox(before) {
      const result = await db
        .deleteFrom('outbox')
        .where('status', '=', 'sent')
        .where('sent_at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async addGroupMember({ receiver, groupKey, template, playbook, member, windowMs, now }) {
      return db.transaction().execute(async (trx) => {
        let row = await trx
          .selectFrom('notification_groups')
          .selectAll()
          .where('receiver', '=', receiver)
          .where('group_key', '=', groupKey)
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
              receiver,
              group_key: groupKey,
              template,
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
        return { group: groupFromRow(row), created, added };
      });
    },

    async groupMembers(groupId) {
      const rows = await db
        .selectFrom('notification_group_members')
        .select('member')
        .where('group_id', '=', groupId)
        .orderBy('seq')
        .execute();
      return rows.map((r) => decodeJson<GroupMember>(caps, r.member)!);
    },

    async markGroupFlushed(groupId, { now, messageChannel, messageTs, membersSent }) {
      await db
        .updateTable('notification_groups')
        .set({
          dirty: 0,
          flushed_at: now,
          last_error: null,
          ...(messageChannel ? { message_channel: messageChannel } : {}),
          ...(messageTs ? { message_ts: messageTs } : {}),
          ...(membersSent === undefined ? {} : { members_sent: membersSent }),
        })
        .where('id', '=', groupId)
        .execute();
    },

    async markGroupFailed(groupId, error) {
      await db.updateTable('notification_groups').set({ last_error: error.slice(0, 2000) }).where('id', '=', groupId).execute();
    },

    async listGroupsToFlush(now, debounceMs) {
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
      return rows.map(groupFromRow);
    },

    async closeGroup(groupId) {
      await db.updateTable('notification_groups').set({ closed: 1 }).where('id', '=', groupId).execute();
    },

    async saveThread({ refundKey, channel, channelId, ts, now }) {
      await db
        .insertInto('slack_threads')
        .values({ refund_key: refundKey, channel, channel_id: channelId, ts, posted_at: now, reminders: 0, reminded_at: null })
        .onConflict((oc) => oc.columns(['refund_key', 'channel']).doNothing())
        .execute();
    },

    async getThread(refundKey, channel) {
      const row = await db
        .selectFrom('slack_threads')
        .selectAll()
        .where('refund_key', '=', refundKey)
        .where('channel', '=', channel)
        .executeTakeFirst();
      return row ? threadFromRow(row) : undefined;
    },

    async listRemindersDue(now, intervalMs, limit) {
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
        refund: fromRow(row as unknown as Selectable<RefundsTable>),
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
    },

    async markReminded(refundKey, channel, now) {
      await db
        .updateTable('slack_threads')
        .set({ reminded_at: now, reminders: sql<number>`reminders + 1` })
        .where('refund_key', '=', refundKey)
        .where('channel', '=', channel)
        .execute();
    },

    async markOutboxSending(id, now, owner) {
      const result = await db
        .updateTable('outbox')
        .set({ sending_at: now })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async openOutage(channel, now, error) {
      await db
        .insertInto('channel_outages')
        .values({ channel, since: now, last_error: error.slice(0, 2000), announced_at: null })
        .onConflict((oc) => oc.column('channel').doUpdateSet({ last_error: error.slice(0, 2000) }))
        .execute();
    },

    async getOutage(channel) {
      const row = await db.selectFrom('channel_outages').selectAll().where('channel', '=', channel).executeTakeFirst();
      return row ? outageFromRow(row) : undefined;
    },

    async announceOutage(channel, since, now, entries) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('channel_outages')
          .set({ announced_at: now })
          .where('channel', '=', channel)
          .where('since', '=', since)
          .where('announced_at', 'is', null)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await insertOutbox(trx, outboxRows(`outage:${channel}`, entries, now));
        return true;
      });
    },

    async closeOutage(channel, since, entries, now) {
      return db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('channel_outages').where('channel', '=', channel).where('since', '=', since).executeTakeFirst();
        if (Number(result.numDeletedRows) !== 1) return false;
        await insertOutbox(trx, outboxRows(`outage:${channel}`, entries, now));
        return true;
      });
    },

    async countWaiting(channel) {
      const row = await db
        .selectFrom('outbox')
        .select([sql<number>`count(*)`.as('pending'), sql<number>`count(failing_since)`.as('failing')])
        .where('status', '=', 'pending')
        .where('channel', '=', channel)
        .executeTakeFirstOrThrow();
      return { pending: Number(row.pending), failing: Number(row.failing) };
    },

    async hurryChannel(channel, now) {
      const result = await db
        .updateTable('outbox')
        .set({ next_attempt_at: now })
        .where('status', '=', 'pending')
        .where('channel', '=', channel)
        .where('next_attempt_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
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
        message: origin
          ? `tracked from ${origin.topic}[${origin.partition}]@${origin.offset}${origin.timestampNote ? `; ${origin.timestampNote}` : ''}`
          : 'tracked',
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

    async heartbeat(owner, now) {
      await db
        .insertInto('instances')
        .values({ owner, started_at: now, seen_at: now })
        .onConflict((oc) => oc.column('owner').doUpdateSet({ seen_at: now }))
        .execute();
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

function optionalJson<T>(key: string, value: T | undefined): Record<string, T> {
  return value === undefined || value === null ? {} : { [key]: value };
}
