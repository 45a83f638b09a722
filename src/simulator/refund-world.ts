import type { NotificationAttempt } from './notifier.js';
import type { SeededRandom } from './random.js';
import { failure, faultReply, isFailureBody, refundAccepted, resultCodeOf, signed, statusAnswer, type Reply } from './refund-answers.js';
import { createRefundStore, scenarioOrThrow, type RefundStoreOptions } from './refund-store.js';
import { isoTime, viewOf, type InquiryRecord, type SandboxRefundView, type SimRefund } from './refund.js';
import { codeFor, pickFault, type FaultRule, type SandboxApi, type Scenario } from './scenario.js';

/**
 * The sandbox's Antom without HTTP: the answer each inquiry or refund request gets, from the
 * refund's scenario, its faults and any outage, and the record of what was asked. Requests arrive
 * authenticated and parsed (antom-routes.ts); answers leave as Reply values for the gateway to
 * sign (antom-gateway.ts).
 */

export interface SandboxSeen {
  readonly refund?: SandboxRefundView;
  readonly inquiries: readonly InquiryRecord[];
  readonly notifications: readonly NotificationAttempt[];
}

export interface RefundWorldOptions extends RefundStoreOptions {
  /** Also draws the probabilistic faults and the latencies. */
  random: SeededRandom;
  /** Played for ids nobody created; `not-found` answers ORDER_NOT_EXIST. */
  defaultScenario: Scenario | 'not-found';
}

/** An inquiryRefund request, authenticated and parsed; at least one of the ids is set. */
export interface Inquiry {
  readonly api: SandboxApi;
  readonly path: string;
  readonly clientId: string;
  readonly refundId?: string;
  readonly refundRequestId?: string;
}

/** A refund request, authenticated and parsed. */
export interface RefundRequest {
  readonly api: SandboxApi;
  readonly clientId: string;
  readonly refundRequestId: string;
  readonly paymentId: string;
  readonly refundAmount?: { currency: string; value: string };
  readonly notifyUrl?: string;
  readonly metadata?: string;
}

export interface Outcome {
  /** What the answer counts as in stats: a refund status, a fault kind or a result code. */
  readonly label: string;
  readonly reply: Reply;
}

/** When the answer leaves: at once, after a latency or a hang, or never (the client gives up). */
export type AnswerTiming = { kind: 'now' } | { kind: 'after'; ms: number } | { kind: 'never' };

export interface InquiryOutcome extends Outcome {
  readonly timing: AnswerTiming;
}

export interface RefundWorld {
  createRefund(scenario?: Scenario): SandboxRefundView;
  /** All or nothing: a bulk creation with one bad scenario creates none. */
  createRefunds(scenarios: readonly Scenario[]): SandboxRefundView[];
  inquire(inquiry: Inquiry): InquiryOutcome;
  requestRefund(request: RefundRequest): Outcome;
  /** By refundId or refundRequestId; also the inquiries about ids nobody created. */
  seen(refundId: string): SandboxSeen;
  notifications(filter?: { refundId?: string; limit?: number }): NotificationAttempt[];
  recordNotification(attempt: NotificationAttempt): void;
  /** While set, every inquiry, about any refund, is answered with this fault. */
  setOutage(fault: FaultRule | undefined): void;
  counts(): { refunds: number; inquiries: number; notificationAttempts: number; acknowledged: number };
}

/** Inquiries remembered for ids that do not exist; bounded so a load test cannot exhaust memory. */
const MAX_UNKNOWN_IDS = 10_000;

export function createRefundWorld(options: RefundWorldOptions): RefundWorld {
  const { random, now, defaultScenario } = options;
  if (defaultScenario !== 'not-found') scenarioOrThrow(defaultScenario);
  const store = createRefundStore(options);
  const unknownInquiries = new Map<string, InquiryRecord[]>();
  let outage: FaultRule | undefined;
  let inquiryCount = 0;

  function inquire(inquiry: Inquiry): InquiryOutcome {
    const { api, refundId, refundRequestId, clientId } = inquiry;
    // refundId wins when both are given (docs/antom.md, "Two APIs called inquiryRefund").
    let refund = refundId !== undefined ? store.byRefundId(refundId) : store.byRequestId(refundRequestId as string);
    if (!refund && defaultScenario !== 'not-found') {
      refund = store.add(defaultScenario, refundId !== undefined ? { refundId, clientId } : { refundRequestId: refundRequestId as string, clientId });
    }
    inquiryCount += 1;
    if (!refund) return answerUnknown(inquiry);

    refund.clientId = clientId;
    const n = refund.inquiries.length + 1;
    store.settle(refund, n - 1);
    const fault = outage ?? pickFault(refund.scenario.faults, n, (index) => random.unit('fault', refund.refundId, n, index));
    const reply = fault ? faultReply(api, refund, fault, now) : signed(statusAnswer(api, refund, now));
    const label = fault?.kind ?? (reply.kind === 'json' && isFailureBody(reply.body) ? resultCodeOf(reply.body) : refund.status);
    const timing = timingFor(random, refund, n, fault);
    refund.inquiries.push({
      n,
      at: isoTime(now()),
      api,
      path: inquiry.path,
      clientId,
      answer: label,
      httpStatus: reply.kind === 'http-error' ? reply.status : 200,
      resultCode: reply.kind === 'json' ? resultCodeOf(reply.body) : undefined,
      answeredAfterMs: timing.kind === 'now' ? 0 : timing.kind === 'after' ? timing.ms : undefined,
    });
    return { label, reply, timing };
  }

  function answerUnknown(inquiry: Inquiry): InquiryOutcome {
    const key = (inquiry.refundId ?? inquiry.refundRequestId) as string;
    const earlier = unknownInquiries.get(key);
    const record: InquiryRecord = {
      n: (earlier?.length ?? 0) + 1,
      at: isoTime(now()),
      api: inquiry.api,
      path: inquiry.path,
      clientId: inquiry.clientId,
      answer: 'ORDER_NOT_EXIST',
      httpStatus: 200,
      resultCode: codeFor(inquiry.api, 'ORDER_NOT_EXIST'),
    };
    if (earlier) earlier.push(record);
    else if (unknownInquiries.size < MAX_UNKNOWN_IDS) unknownInquiries.set(key, [record]);
    return { label: 'ORDER_NOT_EXIST', reply: failure(inquiry.api, 'ORDER_NOT_EXIST'), timing: { kind: 'now' } };
  }

  function requestRefund(request: RefundRequest): Outcome {
    const { api, clientId, refundRequestId, paymentId, refundAmount: amount } = request;
    // refundRequestId is the idempotency key (docs/antom.md, "Refund creation"): same fields, same
    // answer.
    const existing = store.byRequestId(refundRequestId);
    if (existing) {
      const same =
        existing.paymentId === paymentId &&
        (amount === undefined || (existing.refundAmount.currency === amount.currency && existing.refundAmount.value === amount.value));
      if (!same) return { label: 'REPEAT_REQ_INCONSISTENT', reply: failure(api, 'REPEAT_REQ_INCONSISTENT') };
      return { label: 'REFUND_ACCEPTED', reply: signed(refundAccepted(api, existing, now)) };
    }
    const base = defaultScenario === 'not-found' ? {} : defaultScenario;
    let refund: SimRefund;
    try {
      refund = store.add({
        ...base,
        refundRequestId,
        paymentId,
        refundAmount: amount,
        notifyUrl: request.notifyUrl,
        metadata: request.metadata,
      }, { clientId });
    } catch (err) {
      return { label: 'PARAM_ILLEGAL', reply: failure(api, 'PARAM_ILLEGAL', err instanceof Error ? err.message : String(err)) };
    }
    refund.clientId = clientId;
    return { label: 'REFUND_ACCEPTED', reply: signed(refundAccepted(api, refund, now)) };
  }

  return {
    createRefund: (scenario = {}) => viewOf(store.add(scenario)),
    createRefunds: (scenarios) => store.addMany(scenarios),
    inquire,
    requestRefund,
    seen(refundId) {
      const refund = store.byRefundId(refundId) ?? store.byRequestId(refundId);
      if (!refund) return { inquiries: unknownInquiries.get(refundId) ?? [], notifications: [] };
      return { refund: viewOf(refund), inquiries: [...refund.inquiries], notifications: [...refund.notifications] };
    },
    notifications: (filter) => store.notifications(filter),
    recordNotification: (attempt) => store.recordNotification(attempt),
    setOutage(fault) {
      outage = fault;
    },
    counts: () => {
      const { refunds, notificationAttempts, acknowledged } = store.counts();
      return { refunds, inquiries: inquiryCount, notificationAttempts, acknowledged };
    },
  };
}

function timingFor(random: SeededRandom, refund: SimRefund, n: number, fault: FaultRule | undefined): AnswerTiming {
  const latency = latencyFor(random, refund.scenario.latencyMs, refund.refundId, n);
  if (fault?.kind === 'hang') {
    // Holds the socket: the client's own timeout is what ends the exchange.
    return fault.hangMs === undefined ? { kind: 'never' } : { kind: 'after', ms: fault.hangMs + latency };
  }
  return latency > 0 ? { kind: 'after', ms: latency } : { kind: 'now' };
}

function latencyFor(random: SeededRandom, latency: Scenario['latencyMs'], refundId: string, n: number): number {
  if (latency === undefined) return 0;
  if (typeof latency === 'number') return latency;
  return random.between(latency[0], latency[1], 'latency', refundId, n);
}
