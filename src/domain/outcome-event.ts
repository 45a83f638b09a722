import { z } from 'zod';
import { nonEmpty, type AntomConfirmed, type Money, type TrackedRefund } from './refund.js';

/**
 * The outcome events this service publishes (docs/events.md): CloudEvents 1.0 in
 * structured mode. These zod schemas are the single source of the contract: the JSON Schemas in
 * schemas/ and the payloads in docs/asyncapi.yaml are generated from them, and a test fails when
 * the committed files drift (test/unit/event-contract.test.ts). The builders at the end make
 * each event from a refund's state, so the contract and what is published sit side by side.
 */

export const OUTCOME_TYPES = ['refund.completed', 'refund.failed', 'refund.stalled'] as const;
export type OutcomeType = (typeof OUTCOME_TYPES)[number];

export const EVENT_SOURCE = '/refund-notifier';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

const money = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217 currency code'),
    value: z.string().regex(/^\d+$/).describe('amount in the minor units of the currency, as a decimal string'),
  })
  .describe('an amount of money, as Antom represents it');

const baseData = {
  refundId: z.string().min(1).max(64).describe("Antom's refund id (or, for a v1 refund known only by it, the refundRequestId)"),
  refundRequestId: z.string().max(64).optional().describe("the merchant's refund request id"),
  paymentId: z.string().min(1).max(64).describe("Antom's id of the original payment"),
  refundAmount: money.optional().describe('the refund amount, when the initiating record carried it'),
  resultCode: z.string().optional().describe("Antom's result code, exactly as sent"),
  resultMessage: z.string().optional().describe("Antom's result message, exactly as sent"),
  escalated: z.boolean().describe('whether operations were escalated to about this refund'),
  inquiries: z.number().int().nonnegative().describe('how many inquiries were made'),
  initiatedAt: z.string().describe('ISO-8601: when the refund was initiated'),
  metadata: z.record(z.string(), z.unknown()).optional().describe('the metadata of the initiating record, echoed'),
};

export const completedDataSchema = z
  .object({
    ...baseData,
    status: z.literal('SUCCESS'),
    refundTime: z.string().optional().describe('ISO-8601: when Antom says the refund succeeded'),
    confirmedRefundAmount: money
      .optional()
      .describe("the amount Antom says it refunded (v1 inquiries and notifications carry it); when it differs from refundAmount, operations were alerted"),
    grossSettlementAmount: money.optional().describe('what Antom settles for the refund, when the FX rate was locked at payment time'),
    settlementQuote: z.record(z.string(), z.unknown()).optional().describe("Antom's settlement quote (quoteId, quoteCurrencyPair, quotePrice, …), as sent"),
    arn: z.string().optional().describe('the acquirer reference number, when the payment method has one'),
    detectedBy: z.enum(['poll', 'notify']).describe('whether an inquiry or an Antom notification told us'),
    finalizedAt: z.string().describe('ISO-8601: when this service learned the outcome'),
  })
  .describe('data of refund.completed');

export const failedDataSchema = z
  .object({
    ...baseData,
    status: z.literal('FAIL'),
    reasonCode: z
      .string()
      .describe('the normalised result code, e.g. MERCHANT_BALANCE_NOT_ENOUGH, RISK_REJECT (DPOS_ prefixes removed)'),
    detectedBy: z.enum(['poll', 'notify']),
    finalizedAt: z.string(),
  })
  .describe('data of refund.failed');

export const stalledDataSchema = z
  .object({
    ...baseData,
    status: z.string().describe('the refund status Antom last reported (PENDING, PROCESSING), or UNKNOWN'),
    reasonCode: z.string().optional().describe('why the last inquiries told nothing, when they did not'),
    stage: z
      .union([z.literal(1), z.literal(2)])
      .describe('1: not final after POLL_STALLED_AFTER (polling goes on); 2: polling stopped after POLL_GIVE_UP_AFTER'),
    stalledSince: z.string().describe('ISO-8601: when the refund was first reported stalled'),
    detectedBy: z.literal('poll'),
  })
  .describe('data of refund.stalled — not an outcome: the refund may still complete or fail');

const envelope = <T extends OutcomeType, D extends z.ZodType>(type: T, data: D) =>
  z.object({
    specversion: z.literal('1.0'),
    id: z
      .string()
      .describe('deterministic: <refundId>:<type>, plus :<stage> for refund.stalled; a redelivery carries the same id'),
    source: z.literal(EVENT_SOURCE),
    type: z.literal(type),
    subject: z.string().describe('the refund id'),
    time: z.string().describe('ISO-8601: when the outcome was detected'),
    datacontenttype: z.literal('application/json'),
    traceparent: z
      .string()
      .regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional()
      .describe(
        "CloudEvents distributed-tracing extension: W3C traceparent. The trace of the refund-initiated record (or one started when it had none); the parent id is the span that published this event. Also sent as the Kafka header traceparent",
      ),
    tracestate: z.string().optional().describe("CloudEvents distributed-tracing extension: the initiating record's W3C tracestate, when it had one"),
    data,
  });

export const refundCompletedEventSchema = envelope('refund.completed', completedDataSchema);
export const refundFailedEventSchema = envelope('refund.failed', failedDataSchema);
export const refundStalledEventSchema = envelope('refund.stalled', stalledDataSchema);

export type RefundCompletedEvent = z.infer<typeof refundCompletedEventSchema>;
export type RefundFailedEvent = z.infer<typeof refundFailedEventSchema>;
export type RefundStalledEvent = z.infer<typeof refundStalledEventSchema>;
export type OutcomeEvent = RefundCompletedEvent | RefundFailedEvent | RefundStalledEvent;

export const outcomeEventSchemas = {
  'refund.completed': refundCompletedEventSchema,
  'refund.failed': refundFailedEventSchema,
  'refund.stalled': refundStalledEventSchema,
} as const;

export function outcomeEventId(refundId: string, type: OutcomeType, stage?: number): string {
  return stage === undefined ? `${refundId}:${type}` : `${refundId}:${type}:${stage}`;
}

/** The id outcome events carry for a refund: Antom's refundId, else the merchant's request id. */
function eventRefundId(refund: TrackedRefund): string {
  return refund.refundId ?? refund.refundRequestId ?? refund.id;
}

const iso = (ms: number) => new Date(ms).toISOString();

// Optional fields are written as undefined where absent: JSON.stringify leaves them out, so the
// published record has no such key (the outbox serialises each event once, when decided).

function eventEnvelope<T extends OutcomeType>(refund: TrackedRefund, type: T, now: number, stage?: number) {
  const refundId = eventRefundId(refund);
  return {
    specversion: '1.0' as const,
    id: outcomeEventId(refundId, type, stage),
    source: EVENT_SOURCE as typeof EVENT_SOURCE,
    type,
    subject: refundId,
    time: iso(now),
    datacontenttype: 'application/json' as const,
    // The refund's stored trace context; the publisher names its own span as the parent.
    traceparent: refund.origin.traceparent,
    tracestate: refund.origin.tracestate,
  };
}

/** A copy of an amount with only the contract's two fields. */
function eventMoney(m: Money | undefined) {
  return m && { currency: m.currency, value: m.value };
}

function baseEventData(r: TrackedRefund) {
  return {
    refundId: eventRefundId(r),
    refundRequestId: nonEmpty(r.refundRequestId),
    paymentId: r.paymentId,
    refundAmount: eventMoney(r.refundAmount),
    resultCode: nonEmpty(r.resultCode),
    resultMessage: nonEmpty(r.resultMessage),
    escalated: r.escalated,
    inquiries: r.inquiries,
    initiatedAt: r.initiatedAt,
    metadata: r.metadata && { ...r.metadata },
  };
}

/**
 * What Antom confirmed, as the completed event's optional fields. An amount the contract cannot
 * carry (not minor units, not an ISO code) is left out rather than published invalid.
 */
function confirmedEventFields(c: AntomConfirmed | undefined) {
  const valid = (m: Money | undefined) => (m && /^\d+$/.test(m.value) && /^[A-Z]{3}$/.test(m.currency) ? eventMoney(m) : undefined);
  return {
    confirmedRefundAmount: valid(c?.refundAmount),
    grossSettlementAmount: valid(c?.grossSettlementAmount),
    settlementQuote: c?.settlementQuote && { ...c.settlementQuote },
    arn: nonEmpty(c?.arn),
  };
}

/** The outcome event of a refund that has just become final (completed or failed). */
export function outcomeEvent(refund: TrackedRefund, now: number): RefundCompletedEvent | RefundFailedEvent {
  const finalizedAt = iso(refund.finalizedAt ?? now);
  const detectedBy = refund.detectedBy ?? 'poll';
  if (refund.status === 'completed') {
    return {
      ...eventEnvelope(refund, 'refund.completed', now),
      data: {
        ...baseEventData(refund),
        status: 'SUCCESS',
        refundTime: nonEmpty(refund.refundTime),
        ...confirmedEventFields(refund.antomConfirmed),
        detectedBy,
        finalizedAt,
      },
    };
  }
  return {
    ...eventEnvelope(refund, 'refund.failed', now),
    data: { ...baseEventData(refund), status: 'FAIL', reasonCode: refund.reasonCode ?? 'REFUND_FAILED', detectedBy, finalizedAt },
  };
}

/** The stalled event of a refund at `stage` (1: stalled, polling goes on; 2: polling stopped). */
export function stalledEvent(refund: TrackedRefund, now: number, stage: 1 | 2): RefundStalledEvent {
  return {
    ...eventEnvelope(refund, 'refund.stalled', now, stage),
    data: {
      ...baseEventData(refund),
      status: refund.lastRefundStatus ?? 'UNKNOWN',
      reasonCode: nonEmpty(refund.reasonCode),
      stage,
      stalledSince: iso(refund.stalledAt ?? now),
      detectedBy: 'poll',
    },
  };
}
