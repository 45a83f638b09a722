import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them. Times are epoch milliseconds (INTEGER in SQLite, BIGINT in
 * PostgreSQL) so due-time comparisons are plain integer comparisons on both backends; JSON is
 * stored as text on SQLite and as jsonb on PostgreSQL (see dialects.ts).
 */
export interface RefundsTable {
  key: string;
  refund_id: string | null;
  refund_request_id: string | null;
  payment_id: string;
  amount_currency: string | null;
  amount_value: string | null;
  merchant_account_id: string | null;
  payment_method_type: string | null;
  refund_reason: string | null;
  customer_email: string | null;
  customer_name: string | null;
  customer_locale: string | null;
  metadata: unknown;
  initiated_at: string;
  origin: unknown;
  status: string;
  last_refund_status: string | null;
  reason_code: string | null;
  result_code: string | null;
  result_message: string | null;
  refund_time: string | null;
  detected_by: string | null;
  escalated: number;
  inquiries: number;
  consecutive_errors: number;
  next_poll_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  recorded_at: number;
  updated_at: number;
  stalled_at: number | null;
  given_up_at: number | null;
  finalized_at: number | null;
  /** Bumped on every state change: an optimistic check against lost updates. */
  version: number;
  /** The inquiryRefund flavour the refund was tracked with (null: tracked before it was recorded). */
  antom_api: Generated<string | null>;
  /** A failure from an F result waiting to be confirmed: { code, respondedAt }. */
  unconfirmed_failure: Generated<unknown>;
  /** What Antom confirmed beyond the status: { refundAmount, grossSettlementAmount, settlementQuote, arn }. */
  antom_confirmed: Generated<unknown>;
}

export interface TimelineTable {
  id: Generated<number>;
  refund_key: string;
  at: number;
  kind: string;
  message: string;
  detail: unknown;
}

/**
 * Effects of a state change (outcome events, notifications), written in the same transaction as
 * the change and delivered afterwards by a dispatcher. `dedupe_key` is deterministic per effect,
 * so writing the same effect twice (push/poll race, redelivery) is a no-op.
 */
export interface OutboxTable {
  id: Generated<number>;
  dedupe_key: string;
  refund_key: string;
  kind: string;
  channel: string;
  payload: unknown;
  status: string;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
  sending_at: Generated<number | null>;
  /** When the first attempt of the current run of failures failed; cleared by a success. */
  failing_since: Generated<number | null>;
}

export interface NotificationGroupsTable {
  id: Generated<number>;
  /** receiverKey(receiver_spec) and groupIdentity(key): the open group's lookup, never parsed. */
  receiver: string;
  group_key: string;
  template: string;
  /** The receiver (OpsReceiver) and the key's parts (GroupPart[]), as written (migration 0005). */
  receiver_spec: unknown;
  key_parts: unknown;
  failing_since: number | null;
  playbook: string | null;
  window_start: number;
  window_end: number;
  message_channel: string | null;
  message_ts: string | null;
  dirty: number;
  flushed_at: number | null;
  members_sent: number;
  last_error: string | null;
  closed: number;
}

export interface NotificationGroupMembersTable {
  group_id: number;
  refund_key: string;
  seq: number;
  member: unknown;
}

export interface SlackThreadsTable {
  refund_key: string;
  channel: string;
  channel_id: string;
  ts: string;
  posted_at: number;
  reminders: number;
  reminded_at: number | null;
}

/** One row per running instance, upserted by the readiness probe: proves the store takes writes. */
export interface InstancesTable {
  owner: string;
  started_at: number;
  seen_at: number;
}

/**
 * A receiver that is failing right now (today: the customers' SMTP server). Opened by the first
 * failed delivery, announced to operations once it has lasted NOTIFY_FALLBACK_AFTER, closed by
 * the first delivery that goes through again. The primary key makes each step happen once per
 * outage, whichever instance gets there first.
 */
export interface ChannelOutagesTable {
  channel: string;
  since: number;
  last_error: string | null;
  announced_at: number | null;
}

/** One row per scheduled job run: the job ran (or runs) for this period on `owner` (docs/operations.md). */
export interface JobRunsTable {
  job: string;
  period: string;
  owner: string;
  claimed_at: number;
}

/** A token bucket shared by the instances (docs/operations.md, "One Antom budget"). */
export interface RateBucketsTable {
  bucket: string;
  tokens: number;
  refilled_at: number;
  slow_until: number;
  slow_factor: number;
}

/**
 * Refunds and outbox entries by status, kept by triggers (migration 0010): a count is the sum of
 * `n` over the rows of its table and status (one row each on SQLite; appended on PostgreSQL).
 */
export interface StatusCountsTable {
  tbl: string;
  status: string;
  n: number;
}

export interface Database {
  job_runs: JobRunsTable;
  status_counts: StatusCountsTable;
  rate_buckets: RateBucketsTable;
  refunds: RefundsTable;
  timeline: TimelineTable;
  outbox: OutboxTable;
  notification_groups: NotificationGroupsTable;
  notification_group_members: NotificationGroupMembersTable;
  slack_threads: SlackThreadsTable;
  instances: InstancesTable;
  channel_outages: ChannelOutagesTable;
}
