import type { DecisionTimelineEntry } from '../domain/decide.js';
import type { EscalationGroup, NotificationContent, OutageItem } from '../domain/notification-content.js';
import type { NewRefund, RefundPatch, TimelineEntry, TrackedRefund, TrackingStatus } from '../domain/refund.js';
import type { DeliveryTemplate, GroupKey, NotificationSubject, OpsReceiver } from '../domain/routing.js';

/** Wall-clock time, injected so schedules spanning days are testable in milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** What a take from a shared token bucket got (RefundStore.takeRateTokens). */
export interface RateBucketGrant {
  /** Tokens granted, 0 to `want`. */
  readonly granted: number;
  /** The rate in force, requests per second (lower while the cluster is slowed down). */
  readonly rate: number;
  /** Tokens left in the bucket after this take (fractional: they accrue continuously). */
  readonly tokensLeft: number;
}

export interface TrackResult {
  /** Tracking keys that were new and are now durable. */
  readonly inserted: readonly string[];
  /** Records for refunds already tracked: nothing changed for them. */
  readonly duplicates: number;
  /**
   * Records that clash with a tracked refund and were not tracked: a `refundRequestId` already
   * tracked under a different `refundId`. Each is one of the input objects, with the reason; the
   * ingest dead-letters them (never silently dropped).
   */
  readonly conflicts: ReadonlyArray<{ readonly refund: NewRefund; readonly reason: string }>;
}

export interface RefundFilter {
  readonly status?: TrackingStatus;
  /** Exact match. With status 'failed': the failed refunds of one reason code (an index walk). */
  readonly reasonCode?: string;
  /** Exact match (the console's search). */
  readonly paymentId?: string;
  /** Exact match, as the record carried it (the console's search). */
  readonly customerEmail?: string;
  readonly limit?: number;
  /** Keyset pagination: keys strictly after this one. */
  readonly after?: string;
}

/** The stalled refunds at a glance (RefundStore.summarizeStalled). */
export interface StalledSummary {
  /** Refunds with status 'stalled', given up or not. */
  readonly stalled: number;
  /** Of those, the ones no longer polled (POLL_GIVE_UP_AFTER passed). */
  readonly givenUp: number;
  /** When the longest-stalled refund stalled (epoch ms); undefined when none is stalled. */
  readonly oldestStalledAt?: number;
}

/** What waits or was given up on one outbox channel (RefundStore.summarizeOutbox). */
export interface OutboxChannelSummary {
  readonly kind: OutboxKind;
  readonly channel: string;
  readonly pending: number;
  /** Pending entries whose last attempt failed (a run of failures is going on). */
  readonly failing: number;
  /** When the oldest run of failures began (epoch ms). */
  readonly failingSince?: number;
  /** The earliest time a pending entry is due (epoch ms): long past means the dispatcher is behind. */
  readonly oldestDueAt?: number;
  readonly dead: number;
}

export interface ClaimOptions {
  /** Who holds the lease: an id unique to this instance and run. */
  readonly owner: string;
  readonly now: number;
  readonly limit: number;
  /** The lease ends by itself after this long, so a crashed holder's work is taken up again. */
  readonly leaseMs: number;
}

export type OutboxKind = 'event' | 'notice' | 'delivery';
export type OutboxStatus = 'pending' | 'sent' | 'dead';

export interface OutboxEntryInput {
  /** Deterministic per effect: writing the same effect twice is a no-op. */
  readonly dedupeKey: string;
  readonly kind: OutboxKind;
  /** The topic of an event, the receiver of a delivery, `notice` for a notice. */
  readonly channel: string;
  readonly payload: unknown;
  /** Not before this time (epoch ms). */
  readonly availableAt: number;
}

export interface OutboxEntry extends OutboxEntryInput {
  readonly id: number;
  /** Set when a send started and never reported back: the process died during the send. */
  readonly sendingAt?: number;
  readonly refundKey: string;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly lastError?: string;
  readonly createdAt: number;
  readonly sentAt?: number;
  /** When the current run of failed attempts began (unset after a success or before any failure). */
  readonly failingSince?: number;
}

/** A receiver failing right now (see NotificationStateStore.openOutage). */
export interface ChannelOutage {
  readonly channel: string;
  readonly since: number;
  readonly lastError?: string;
  /** When operations were told; unset while the outage is younger than the announcement delay. */
  readonly announcedAt?: number;
}

export interface ApplyInput {
  readonly key: string;
  /** The version the decision was made on; a refund changed since is not overwritten. */
  readonly version: number;
  readonly patch: RefundPatch;
  readonly timeline: readonly DecisionTimelineEntry[];
  readonly outbox: readonly OutboxEntryInput[];
  readonly now: number;
}

export interface OutboxFilter {
  readonly status?: OutboxStatus;
  readonly kind?: OutboxKind;
  readonly refundKey?: string;
  readonly limit?: number;
  /** Keyset pagination: ids strictly after this one. */
  readonly after?: number;
}

/** A refund in a notification group (escalations of one code inside one window). */
export interface GroupMember {
  readonly refundKey: string;
  readonly refundId?: string;
  readonly refundRequestId?: string;
  readonly paymentId: string;
  readonly refundAmount?: { readonly currency: string; readonly value: string };
  readonly detectedAt: number;
}

export interface NotificationGroup {
  readonly id: number;
  readonly receiver: OpsReceiver;
  /** What its refunds share (the template is key.template). */
  readonly key: GroupKey;
  readonly playbook?: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** The Slack message that stands for the group, once posted. */
  readonly messageChannel?: string;
  readonly messageTs?: string;
  /** Members added since the message was last brought up to date. */
  readonly dirty: boolean;
  readonly flushedAt?: number;
  /** How many members the receiver has been told about (email: the first, then the summary). */
  readonly membersSent: number;
  readonly lastError?: string;
  /** When its receiver began failing (the opener's post or an update); cleared by a success. */
  readonly failingSince?: number;
  readonly closed: boolean;
}

export interface SlackThread {
  readonly refundKey: string;
  readonly channel: string;
  readonly channelId: string;
  readonly ts: string;
  readonly postedAt: number;
  readonly reminders: number;
  readonly remindedAt?: number;
}

/** A span's attributes (OpenTelemetry's primitive values; undefined ones are left out). */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** One span in flight (docs/operations.md, "Tracing"); `end` it once, whatever happened. */
export interface TraceSpan {
  /** Whether it is recorded (and exported): false when no exporter is configured. */
  readonly recording: boolean;
  /** For the log lines written about its work: `trace_id`, and `span_id` while spans are recorded. */
  readonly logFields: Readonly<{ trace_id?: string; span_id?: string }>;
  set(attributes: SpanAttributes): void;
  /** Status error, saying what went wrong. */
  fail(message: string): void;
  end(): void;
  /**
   * The W3C traceparent naming this span as the parent: what a message sent inside it carries.
   * Without recorded spans, the parent the span was started under (undefined without one).
   */
  traceparent(): string | undefined;
}

/**
 * Spans around the work done for a refund: inquiries, publishes, sends. Each is a child of the
 * refund's stored trace context (`parent`, a W3C traceparent kept in its origin), so the whole
 * life of a refund is one trace from its initiating record to its outcome event. Without an OTLP
 * endpoint nothing is recorded and a span costs an object; its logFields still carry the trace id.
 */
export interface Tracing {
  span(name: string, parent: string | undefined, attributes?: SpanAttributes, kind?: 'internal' | 'client' | 'producer'): TraceSpan;
}

/** Publishes records to Kafka; resolves only once the broker acknowledged every one of them. */
export interface EventPublisher {
  publish(records: ReadonlyArray<{ topic: string; key: string; value: string; headers: Record<string, string> }>): Promise<void>;
}

/** A rendered Slack message (Block Kit and its plain-text fallback). */
export interface SlackMessageOut {
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

/** Slack: a bot token (threads, updates in place), a webhook (post only) or off. */
export interface SlackPort {
  readonly mode: 'bot' | 'webhook' | 'off';
  postMessage(input: { channel: string; text: string; blocks?: readonly unknown[]; threadTs?: string }): Promise<{ ts?: string; channel?: string }>;
  updateMessage(input: { channel: string; ts: string; text: string; blocks?: readonly unknown[] }): Promise<void>;
}

export interface EmailPort {
  /** `from` (EMAIL_FROM when absent) and `replyTo` (none when absent) are per send: a merchant's brand sets them. */
  send(email: {
    to: string | string[];
    subject: string;
    html: string;
    text: string;
    from?: string;
    replyTo?: string;
    messageId?: string;
    headers?: Record<string, string>;
  }): Promise<{ messageId: string }>;
}

export interface RenderedEmailOut {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** The sender when it is not EMAIL_FROM (a merchant's, config/merchants.yaml). */
  readonly from?: string;
  readonly replyTo?: string;
}

export type OpsTemplate = Exclude<DeliveryTemplate, 'customer-completed'>;

/** How each kind of message looks; implemented by the Slack Block Kit and email template adapters. */
export interface Renderers {
  slackRefund(subject: NotificationSubject, template: OpsTemplate, playbook?: string): SlackMessageOut;
  slackGroup(group: EscalationGroup): SlackMessageOut;
  slackReminder(subject: NotificationSubject, info: { reminder: number; stalledSince: number; now: number }): SlackMessageOut;
  slackOutage(items: OutageItem[], info: { since: number; until: number; channel: string }): SlackMessageOut;
  emailRefund(subject: NotificationSubject, template: OpsTemplate, playbook?: string, note?: string): RenderedEmailOut;
  emailGroup(group: EscalationGroup): RenderedEmailOut;
  customerEmail(subject: NotificationSubject): RenderedEmailOut;
  slackContent(content: NotificationContent): SlackMessageOut;
  emailContent(content: NotificationContent): RenderedEmailOut;
  /** The fixed Message-ID of a delivery, on the domain of its sender (`from`, EMAIL_FROM when absent). */
  messageId(dedupeKey: string, from?: string): string;
}

/**
 * The state notifications need beyond the outbox: groups updated in place, and the Slack threads
 * that reminders go to.
 */
export interface NotificationStateStore {
  /**
   * Adds a refund to the open group of this receiver and key (opening one for `windowMs` when
   * none is open). A refund that is already in a group of this receiver and key (open, past its
   * window or closed: a retried delivery) is not added again: that group is answered.
   */
  addGroupMember(input: {
    receiver: OpsReceiver;
    key: GroupKey;
    playbook?: string;
    member: GroupMember;
    windowMs: number;
    now: number;
  }): Promise<{ group: NotificationGroup; created: boolean; added: boolean }>;
  groupMembers(groupId: number): Promise<GroupMember[]>;
  /** Records that the receiver is now up to date (the message posted or updated; the email sent). */
  markGroupFlushed(groupId: number, update: { now: number; messageChannel?: string; messageTs?: string; membersSent?: number }): Promise<void>;
  /**
   * Keeps the error, and starts the group's run of failures (failingSince) if none is running.
   * A closed group is left as it ended.
   */
  markGroupFailed(groupId: number, error: string, now: number): Promise<void>;
  /** Open groups with members not shown yet whose last update is older than `debounceMs`, and groups whose window ended. */
  listGroupsToFlush(now: number, debounceMs: number): Promise<NotificationGroup[]>;
  closeGroup(groupId: number): Promise<void>;
  saveThread(thread: { refundKey: string; channel: string; channelId: string; ts: string; now: number }): Promise<void>;
  getThread(refundKey: string, channel: string): Promise<SlackThread | undefined>;
  /** Threads of refunds still stalled whose last post or reminder is older than `intervalMs`. */
  listRemindersDue(now: number, intervalMs: number, limit: number): Promise<Array<{ thread: SlackThread; refund: TrackedRefund }>>;
  markReminded(refundKey: string, channel: string, now: number): Promise<void>;
  /**
   * Marks a delivery as being sent right now (see OutboxEntry.sendingAt). False when `owner` no
   * longer holds its lease: then it must not be sent.
   */
  markOutboxSending(id: number, now: number, owner: string): Promise<boolean>;

  /** Opens an outage of `channel` unless one is open; keeps the latest error either way. */
  openOutage(channel: string, now: number, error: string): Promise<void>;
  getOutage(channel: string): Promise<ChannelOutage | undefined>;
  /**
   * Marks the outage that began at `since` announced and writes `entries` (the announcement), in
   * one transaction, only if nobody announced it yet. True when this call did it.
   */
  announceOutage(channel: string, since: number, now: number, entries: readonly OutboxEntryInput[]): Promise<boolean>;
  /**
   * Closes the outage that began at `since` and writes `entries` (the all-clear), in one
   * transaction, only if it is still open. True when this call closed it.
   */
  closeOutage(channel: string, since: number, entries: readonly OutboxEntryInput[], now: number): Promise<boolean>;
  /** Pending entries for `channel`, and how many of them have failed at least once. */
  countWaiting(channel: string): Promise<{ pending: number; failing: number }>;
  /** Makes every pending entry for `channel` due now (the receiver answers again); returns how many. */
  hurryChannel(channel: string, now: number): Promise<number>;
}

/**
 * The durable store of tracked refunds, their timelines and the outbox. One contract suite
 * (test/contract/refund-store.contract.ts) runs against every implementation.
 */
export interface RefundStore extends NotificationStateStore {
  /** Brings the schema to the newest version; safe to call on every start and concurrently. */
  migrate(): Promise<void>;
  /**
   * Makes the refunds durable in one transaction, due at `firstPollAt`. Idempotent by tracking
   * key (and by refundRequestId): a record for a refund already tracked changes nothing. A record
   * whose refundRequestId is tracked under a different refundId is returned as a conflict. Throws
   * a StoreRefusedDataError when the store refuses the data itself (the batch may then be written
   * record by record to find the one), a StoreUnavailableError for everything else.
   */
  trackRefunds(refunds: readonly NewRefund[], context: { now: number; firstPollAt: number; antomApi?: 'v1' | 'v2' }): Promise<TrackResult>;
  getRefund(key: string): Promise<TrackedRefund | undefined>;
  /** By Antom's refundId or the merchant's refundRequestId (the notify receiver's lookup). */
  findRefund(ids: { refundId?: string; refundRequestId?: string }): Promise<TrackedRefund | undefined>;
  listRefunds(filter: RefundFilter): Promise<TrackedRefund[]>;
  /** Refunds by status, every status present; kept by the store as rows change, not counted on each call. */
  countByStatus(): Promise<Record<TrackingStatus, number>>;
  /**
   * Folds the rows the counts by status are kept in (countByStatus, countOutbox) into one per
   * status, without changing a count; returns the rows removed. Run every minute: on PostgreSQL
   * every change appends rows (docs/store.md, "Counts by status").
   */
  foldCounts(): Promise<number>;
  /** How many refunds are stalled, how many of them given up, and since when the oldest is stalled. */
  summarizeStalled(): Promise<StalledSummary>;
  /** Failed refunds per reason code, most frequent first (a refund failed without one is under undefined). */
  countFailedByReason(): Promise<Array<{ readonly reasonCode?: string; readonly refunds: number }>>;
  timeline(key: string): Promise<TimelineEntry[]>;
  appendTimeline(key: string, entries: readonly DecisionTimelineEntry[], now: number): Promise<void>;

  /**
   * Leases up to `limit` refunds whose inquiry is due, earliest first, that nobody else holds
   * (or whose holder's lease ran out). Two pollers never get the same refund at the same time.
   */
  claimDue(options: ClaimOptions): Promise<TrackedRefund[]>;
  /** Gives a lease back without a decision (shutdown): the refund is due again at once. */
  releaseLease(key: string, owner: string): Promise<void>;
  /**
   * The state change, its timeline entries and its outbox entries, in one transaction; applied
   * only if the refund is still at `version`. Clears the lease. Returns whether it applied.
   */
  applyDecision(input: ApplyInput): Promise<boolean>;
  /**
   * Several decisions in one transaction (group commit: one fsync for many refunds); each is
   * guarded by its own version. Returns, per input, whether it applied.
   */
  applyDecisions(inputs: readonly ApplyInput[]): Promise<boolean[]>;
  /**
   * When the next inquiry can be claimed: the earliest due time of a refund nobody holds, or the
   * earliest end of a lease on a refund already due. The poll loop sleeps until then.
   */
  nextDueAt(now: number): Promise<number | undefined>;
  /** Refunds past a stall or give-up point that no inquiry has handled yet (the sweep's work). */
  listOverdue(options: { stalledBefore: number; giveUpBefore: number; limit: number }): Promise<TrackedRefund[]>;
  /** Makes a refund due now (admin re-check); false for a final or unknown refund. */
  recheckNow(key: string, now: number): Promise<boolean>;

  /**
   * Leases the pending deliveries to one receiver created before `createdBefore`, due or not: the
   * backlog an outage left, to be summarised once the receiver answers again.
   */
  claimBacklog(options: ClaimOptions & { channel: string; createdBefore: number }): Promise<OutboxEntry[]>;
  /** Leases due outbox entries in creation order (the dispatcher's claim). */
  claimOutbox(options: ClaimOptions & { kinds?: readonly OutboxKind[] }): Promise<OutboxEntry[]>;
  /**
   * Extends the lease of entries `owner` still holds to `until` (a pass that runs long keeps what
   * it claimed); returns how many it still holds.
   */
  renewOutboxLeases(ids: readonly number[], owner: string, until: number): Promise<number>;
  /**
   * Marks entries sent, in one statement; only those `owner` holds. Returns how many. Every mark
   * below is guarded the same way: a dispatcher whose lease ran out (and whose entries another
   * instance may have claimed) changes nothing.
   */
  markOutboxSent(ids: readonly number[], now: number, owner: string): Promise<number>;
  /** Back to pending until `nextAttemptAt`; starts the failure run (failingSince) if none is running. */
  retryOutboxLater(id: number, options: { nextAttemptAt: number; error: string; now: number; owner: string }): Promise<boolean>;
  markOutboxDead(id: number, options: { error: string; now: number; owner: string }): Promise<boolean>;
  /**
   * For each item, writes its entries (no-op for existing dedupe keys) and marks `doneId` sent —
   * or dead with `doneError` (a delivery replaced by its fallback); all items in one transaction
   * (one commit for a whole pass of notices). An item whose `doneId` `owner` no longer holds
   * writes nothing.
   */
  expandOutbox(
    items: ReadonlyArray<{ doneId: number; refundKey: string; entries: readonly OutboxEntryInput[]; doneError?: string }>,
    now: number,
    owner: string,
  ): Promise<void>;
  /** Puts a dead entry back to pending (admin retry). */
  requeueOutbox(id: number, now: number): Promise<boolean>;
  listOutbox(filter: OutboxFilter): Promise<OutboxEntry[]>;
  countOutbox(): Promise<Record<OutboxStatus, number>>;
  /** Pending (and failing) and dead entries per kind and channel; channels with neither are left out. */
  summarizeOutbox(): Promise<OutboxChannelSummary[]>;
  /**
   * When the pending outbox entry due first is (or was) due, leased or not; undefined when none is
   * pending. Long past means no dispatcher is keeping up (/metrics). One index probe.
   */
  earliestOutboxDue(): Promise<number | undefined>;
  /** Deletes sent outbox entries older than `before`; returns how many. */
  pruneOutbox(before: number): Promise<number>;
  /**
   * Writes entries that belong to no decision (the digest) under `key`; an existing dedupe key is a
   * no-op, so the same entry from two instances or two runs is written once. Returns how many were new.
   */
  enqueueOutbox(key: string, entries: readonly OutboxEntryInput[], now: number): Promise<number>;

  /**
   * Claims a scheduled job's run for a period (a tick of its schedule, the digest's day): true for
   * the one caller that gets it, false for every other instance or repeat (docs/operations.md).
   */
  claimJobRun(run: { job: string; period: string; owner: string; now: number }): Promise<boolean>;
  /** Deletes job-run claims older than `before`; returns how many. */
  pruneJobRuns(before: number): Promise<number>;

  /**
   * Takes up to `want` tokens from the shared bucket (created full on first use), refilled at
   * `ratePerSecond` since its last take and holding at most `burst`: one Antom budget for every
   * instance on the store (docs/operations.md).
   */
  takeRateTokens(input: { bucket: string; want: number; ratePerSecond: number; burst: number; now: number }): Promise<RateBucketGrant>;
  /** Slows the shared bucket to `factor` of its rate until `until` (a later call extends it). */
  slowRateBucket(input: { bucket: string; until: number; factor: number; burst: number; now: number }): Promise<void>;

  /**
   * Erases customer name and email from up to `limit` refunds final before `finalBefore`, and from
   * every outbox payload of theirs; returns how many refunds (0: none left). The refund rows stay.
   */
  eraseCustomerData(options: { finalBefore: number; limit: number }): Promise<number>;
  /**
   * Deletes the timeline and Slack thread rows of up to `limit` refunds final before
   * `finalBefore`, and up to `limit` closed groups whose window ended before it; the refund rows
   * stay as tombstones. Returns how many of each.
   */
  pruneHistory(options: { finalBefore: number; limit: number }): Promise<{ refunds: number; timeline: number; threads: number; groups: number }>;

  /** Cheap read-only probe. */
  ping(): Promise<void>;
  /**
   * The readiness probe: upserts this instance's row, so a store that reads but cannot write is
   * reported as not ready.
   */
  heartbeat(owner: string, now: number): Promise<void>;
  close(): Promise<void>;
}
