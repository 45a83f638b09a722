import type { Insertable, Selectable, Updateable } from 'kysely';
import type { ChannelOutage, NotificationGroup, OutboxEntry, OutboxEntryInput, OutboxKind, OutboxStatus, SlackThread } from '../../app/ports.js';
import type { DecisionTimelineEntry } from '../../domain/decide.js';
import type { RefundPatch, TimelineEntry, TimelineKind, TrackedRefund, TrackingStatus } from '../../domain/refund.js';
import type { DeliveryTemplate, GroupPart, OpsReceiver } from '../../domain/routing.js';
import { decodeJson, encodeJson, type DialectCapabilities } from './dialects.js';
import type {
  ChannelOutagesTable,
  NotificationGroupsTable,
  OutboxTable,
  RefundsTable,
  SlackThreadsTable,
  TimelineTable,
} from './schema.js';

/**
 * Rows and domain values, both ways: what a table row means to the application, and the row a
 * domain value is written as. Pure; the dialect only decides how JSON columns are read.
 */

export type TimelineRow = Insertable<TimelineTable>;
export type OutboxRow = Insertable<OutboxTable>;

export function refundFromRow(caps: DialectCapabilities, row: Selectable<RefundsTable>): TrackedRefund {
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
    antomApi: row.antom_api === 'v1' || row.antom_api === 'v2' ? row.antom_api : undefined,
    ...optionalJson<TrackedRefund['unconfirmedFailure']>('unconfirmedFailure', decodeJson(caps, row.unconfirmed_failure)),
    ...optionalJson<TrackedRefund['antomConfirmed']>('antomConfirmed', decodeJson(caps, row.antom_confirmed)),
  };
}

export function timelineFromRow(caps: DialectCapabilities, row: Selectable<TimelineTable>): TimelineEntry {
  return {
    refundKey: row.refund_key,
    at: Number(row.at),
    kind: row.kind as TimelineKind,
    message: row.message,
    detail: decodeJson(caps, row.detail),
  };
}

export function outboxFromRow(caps: DialectCapabilities, row: Selectable<OutboxTable>): OutboxEntry {
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
    lastError: row.last_error || undefined,
    createdAt: Number(row.created_at),
    sentAt: optionalNumber(row.sent_at),
    sendingAt: optionalNumber(row.sending_at),
    failingSince: optionalNumber(row.failing_since),
  };
}

export function outageFromRow(row: Selectable<ChannelOutagesTable>): ChannelOutage {
  return {
    channel: row.channel,
    since: Number(row.since),
    lastError: row.last_error || undefined,
    announcedAt: optionalNumber(row.announced_at),
  };
}

export function groupFromRow(caps: DialectCapabilities, row: Selectable<NotificationGroupsTable>): NotificationGroup {
  return {
    id: Number(row.id),
    receiver: decodeJson<OpsReceiver>(caps, row.receiver_spec)!,
    key: { template: row.template as DeliveryTemplate, parts: decodeJson<GroupPart[]>(caps, row.key_parts) ?? [] },
    playbook: row.playbook || undefined,
    windowStart: Number(row.window_start),
    windowEnd: Number(row.window_end),
    messageChannel: row.message_channel || undefined,
    messageTs: row.message_ts || undefined,
    dirty: Boolean(row.dirty),
    flushedAt: optionalNumber(row.flushed_at),
    failingSince: optionalNumber(row.failing_since),
    membersSent: Number(row.members_sent),
    lastError: row.last_error || undefined,
    closed: Boolean(row.closed),
  };
}

export function threadFromRow(row: Selectable<SlackThreadsTable>): SlackThread {
  return {
    refundKey: row.refund_key,
    channel: row.channel,
    channelId: row.channel_id,
    ts: row.ts,
    postedAt: Number(row.posted_at),
    reminders: Number(row.reminders),
    remindedAt: optionalNumber(row.reminded_at),
  };
}

export function timelineRows(caps: DialectCapabilities, key: string, entries: readonly DecisionTimelineEntry[], now: number): TimelineRow[] {
  return entries.map((e) => ({
    refund_key: key,
    at: now,
    kind: e.kind,
    message: e.message,
    detail: encodeJson(caps, e.detail) as unknown,
  }));
}

export function outboxRows(caps: DialectCapabilities, key: string, entries: readonly OutboxEntryInput[], now: number): OutboxRow[] {
  return entries.map((e) => ({
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
}

/** Domain patch field -> column. Only what a decision may change is here. */
export function patchColumns(patch: RefundPatch): Updateable<RefundsTable> {
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
export function patchJsonColumns(caps: DialectCapabilities, patch: RefundPatch): Updateable<RefundsTable> {
  const out: Updateable<RefundsTable> = {};
  if (patch.unconfirmedFailure !== undefined) out.unconfirmed_failure = patch.unconfirmedFailure === null ? null : encodeJson(caps, patch.unconfirmedFailure);
  if (patch.antomConfirmed !== undefined) out.antom_confirmed = encodeJson(caps, patch.antomConfirmed);
  return out;
}

/** A nullable number column as an optional field (BIGINT arrives as a string from PostgreSQL). */
function optionalNumber(value: number | string | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function optionalJson<T>(key: string, value: T | undefined): Record<string, T> {
  return value === undefined || value === null ? {} : { [key]: value };
}
