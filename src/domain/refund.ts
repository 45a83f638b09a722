/**
 * The refund as this service tracks it. Kept apart from Antom's own vocabulary: Antom speaks of
 * refundStatus SUCCESS / FAIL / FAILED / PROCESSING / PENDING; we track where *our* work stands.
 *
 *   pending ──► completed            (Antom said SUCCESS)
 *      │   └──► failed               (Antom said FAIL/FAILED, or a code that means the refund failed)
 *      └──────► stalled ──► completed | failed   (still polled at the ceiling)
 *                  └──────► given up (polling stops; status stays `stalled`, `givenUpAt` set)
 */
export type TrackingStatus = 'pending' | 'stalled' | 'completed' | 'failed';

export interface Money {
  /** ISO 4217 code, upper case. */
  readonly currency: string;
  /** Amount in the currency's minor units, as a decimal string (Antom's own representation). */
  readonly value: string;
}

export interface Customer {
  readonly email?: string;
  readonly name?: string;
  readonly locale?: string;
}

/** Where a record came from, for the timeline and the dead-letter headers. */
export interface RecordOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** CloudEvents `id` and `source` when the record was a CloudEvent. */
  readonly eventId?: string;
  readonly eventSource?: string;
  /**
   * Set only when the record's Kafka timestamp could not serve as the default `initiatedAt` (none,
   * not a number, or not a plausible epoch-millisecond time) and the time of consumption was used:
   * the timestamp as received (escaped if it is not plain digits) and a sentence for the timeline.
   */
  readonly recordTimestamp?: string;
  readonly timestampNote?: string;
  /**
   * The W3C trace context the work on this refund continues (docs/operations.md, "Tracing"): the
   * record's own (a Kafka header, or the CloudEvents distributed-tracing extension), or a trace
   * started at ingest when it carried none or an invalid one. Absent on refunds tracked before
   * tracing was added. Kept here, in the stored origin, so any instance polling the refund later
   * (after a restart, on another host) continues the same trace.
   */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** A validated refund-initiated record, ready to be tracked. */
export interface NewRefund {
  /** The tracking key: Antom's refundId, or `request:<refundRequestId>` when only that is known (v1). */
  readonly id: string;
  readonly refundId?: string;
  readonly refundRequestId?: string;
  readonly paymentId: string;
  readonly refundAmount?: Money;
  readonly merchantAccountId?: string;
  readonly paymentMethodType?: string;
  readonly refundReason?: string;
  readonly customer?: Customer;
  /** ISO-8601. */
  readonly initiatedAt: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly origin: RecordOrigin;
}

/** What Antom confirmed about a refund beyond its status (an inquiry or a notification). */
export interface AntomConfirmed {
  /** Antom's own refundAmount: what was refunded, which may differ from what was initiated. */
  readonly refundAmount?: Money;
  /** What Antom settles, when the FX rate was locked at payment time. */
  readonly grossSettlementAmount?: Money;
  readonly settlementQuote?: Readonly<Record<string, unknown>>;
  /** The acquirer reference number, when the payment method has one. */
  readonly arn?: string;
}

export interface TrackedRefund extends NewRefund {
  readonly status: TrackingStatus;
  /**
   * The inquiryRefund flavour the refund was tracked with: it is asked that way for its whole
   * life, whatever ANTOM_API says later. Undefined for refunds tracked before this was recorded
   * (they follow ANTOM_API).
   */
  readonly antomApi?: 'v1' | 'v2';
  /**
   * A failure read from a signed F result (which names no refund), waiting for a later answer to
   * confirm it: the normalised code and the first answer's signed response-time.
   */
  readonly unconfirmedFailure?: { readonly code: string; readonly respondedAt: number };
  readonly antomConfirmed?: AntomConfirmed;
  /** The last refund status Antom reported (SUCCESS, FAIL, PENDING, …), if any. */
  readonly lastRefundStatus?: string;
  readonly reasonCode?: string;
  readonly resultCode?: string;
  readonly resultMessage?: string;
  readonly refundTime?: string;
  readonly detectedBy?: 'poll' | 'notify';
  readonly escalated: boolean;
  /** Inquiries made so far. */
  readonly inquiries: number;
  /** Consecutive inquiries that told nothing about the refund (transport errors, U answers). */
  readonly consecutiveErrors: number;
  /** Epoch ms; undefined once no more inquiry is due (final, or given up). */
  readonly nextPollAt?: number;
  readonly recordedAt: number;
  readonly updatedAt: number;
  readonly stalledAt?: number;
  readonly givenUpAt?: number;
  readonly finalizedAt?: number;
  /** Bumped by every state change; a change applies only to the version it was decided on. */
  readonly version: number;
}

export type TimelineKind =
  | 'tracked'
  | 'inquiry'
  | 'notify'
  | 'status'
  | 'stalled'
  | 'given-up'
  | 'event'
  | 'notification'
  | 'alert'
  | 'recheck';

export interface TimelineEntry {
  readonly refundKey: string;
  readonly at: number;
  readonly kind: TimelineKind;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** The tracking key for a refund: one id space for v2 (refundId) and v1 (either id). */
export function trackingKey(ids: { refundId?: string; refundRequestId?: string }): string {
  if (ids.refundId) return ids.refundId;
  if (ids.refundRequestId) return `request:${ids.refundRequestId}`;
  throw new Error('trackingKey needs a refundId or a refundRequestId');
}

/**
 * An empty string counts as absent: a record or an Antom answer may carry `""` where it has
 * nothing to say, and a message, a group key or an event must treat it as not given.
 */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** What a decision may set and clear (written as NULL): the rest of a refund it never clears. */
const CLEARABLE_FIELDS = ['lastRefundStatus', 'reasonCode', 'resultCode', 'resultMessage', 'refundTime', 'nextPollAt', 'unconfirmedFailure'] as const;
const SET_ONLY_FIELDS = ['status', 'refundId', 'detectedBy', 'escalated', 'inquiries', 'consecutiveErrors', 'stalledAt', 'givenUpAt', 'finalizedAt', 'antomConfirmed'] as const;
type ClearableField = (typeof CLEARABLE_FIELDS)[number];
type SetOnlyField = (typeof SET_ONLY_FIELDS)[number];

/**
 * What the store writes for a decision: the fields that changed, `null` for one that was cleared.
 * The identity, the record's own fields, `version` and `updatedAt` are not a decision's to change.
 */
export type RefundPatch = { readonly [K in SetOnlyField]?: Exclude<TrackedRefund[K], undefined> } & {
  readonly [K in ClearableField]?: Exclude<TrackedRefund[K], undefined> | null;
};

/**
 * The difference between a refund and its next state, as the store writes it: only the fields
 * that changed, nothing at all for the same state.
 */
export function refundChanges(before: TrackedRefund, next: TrackedRefund): RefundPatch {
  const patch: Record<string, unknown> = {};
  for (const field of SET_ONLY_FIELDS) {
    if (sameValue(before[field], next[field])) continue;
    if (next[field] === undefined) throw new Error(`a decision cannot clear ${field}`);
    patch[field] = next[field];
  }
  for (const field of CLEARABLE_FIELDS) {
    if (!sameValue(before[field], next[field])) patch[field] = next[field] ?? null;
  }
  return patch as RefundPatch;
}

/**
 * Equality of plain data by value; a property holding undefined is the same as no property (both
 * are stored the same). It recurses no deeper than storing the value does (JSON.stringify).
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].every((k) => sameValue(x[k], y[k]));
}
