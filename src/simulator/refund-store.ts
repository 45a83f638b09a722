import { SandboxInputError } from './input-error.js';
import type { NotificationAttempt } from './notifier.js';
import type { SeededRandom } from './random.js';
import { notificationBody } from './refund-answers.js';
import { viewOf, type SandboxRefundView, type SimRefund } from './refund.js';
import { parseScenario, type Scenario } from './scenario.js';

/**
 * The refunds the sandbox knows: creating them from scenarios, settling them once their inquiries
 * and their time allow, and the notifyRefund pushes that follow. What an inquiry answers is
 * refund-world.ts's business.
 */

/** A notifyRefund push for the notifier to deliver, when a refund becomes final. */
export interface RefundNotification {
  readonly refundId: string;
  readonly url: string;
  readonly clientId: string;
  /** The JSON body, as sent and signed. */
  readonly body: string;
  readonly refundStatus: 'SUCCESS' | 'FAIL';
}

export interface RefundStoreOptions {
  /** Generated ids and amounts. */
  random: SeededRandom;
  /** Epoch ms: creation, pending time, finalisation. */
  now: () => number;
  /** Antom time runs this many times faster than real time (pendingMs). */
  timeScale: number;
  /** Runs fn after ms of real time; the returned function cancels it. */
  later: (ms: number, fn: () => void) => () => void;
  /** Where notifyRefund goes for a refund that names no URL of its own. */
  notifyUrl?: string;
  /** The client id a notification carries when no request about the refund has named one. */
  notifyClientId: string;
  deliver: (notification: RefundNotification) => void;
}

export interface RefundStore {
  /** Throws SandboxInputError for an invalid scenario (400) or an id that exists (409). */
  add(scenario: Scenario, ids?: { refundId?: string; refundRequestId?: string; clientId?: string }): SimRefund;
  /** All or nothing: a bulk creation with one bad scenario creates none. */
  addMany(scenarios: readonly Scenario[]): SandboxRefundView[];
  byRefundId(refundId: string): SimRefund | undefined;
  byRequestId(refundRequestId: string): SimRefund | undefined;
  /** Moves the refund to its final status when both `inquiries` (answered so far) and its time allow. */
  settle(refund: SimRefund, inquiries: number): void;
  recordNotification(attempt: NotificationAttempt): void;
  notifications(filter?: { refundId?: string; limit?: number }): NotificationAttempt[];
  counts(): { refunds: number; notificationAttempts: number; acknowledged: number };
}

const DEFAULT_CURRENCY = 'USD';

export function createRefundStore(options: RefundStoreOptions): RefundStore {
  const { random, now } = options;
  const byRefundId = new Map<string, SimRefund>();
  const byRequestId = new Map<string, SimRefund>();
  const allNotifications: NotificationAttempt[] = [];
  let created = 0;
  let acknowledged = 0;

  function add(input: Scenario, ids: { refundId?: string; refundRequestId?: string; clientId?: string } = {}): SimRefund {
    const scenario = scenarioOrThrow(input);
    created += 1;
    const n = created;
    // Antom's refund ids are long digit strings; the counter keeps generated ones unique.
    const refundId =
      ids.refundId ??
      scenario.refundId ??
      `2026${String(random.between(0, 999_999_999, 'refundId', n)).padStart(9, '0')}${String(n).padStart(8, '0')}`;
    const refundRequestId = ids.refundRequestId ?? scenario.refundRequestId ?? `rr-${random.hex(8, 'refundRequestId', n)}-${n}`;
    if (byRefundId.has(refundId)) throw new SandboxInputError([`refundId ${refundId} already exists`], 409);
    if (byRequestId.has(refundRequestId)) throw new SandboxInputError([`refundRequestId ${refundRequestId} already exists`], 409);
    const createdAt = now();
    const refund: SimRefund = {
      refundId,
      refundRequestId,
      paymentId: scenario.paymentId ?? `pay-${random.hex(12, 'paymentId', n)}`,
      refundAmount: scenario.refundAmount ?? { currency: DEFAULT_CURRENCY, value: String(random.between(100, 50_000, 'amount', n)) },
      scenario,
      createdAt,
      finalNotBefore: createdAt + (scenario.pendingMs ?? 0) / options.timeScale,
      status: 'PROCESSING',
      inquiries: [],
      notifications: [],
      ...((scenario.notifyUrl ?? options.notifyUrl) === undefined ? {} : { notifyUrl: scenario.notifyUrl ?? options.notifyUrl }),
      clientId: ids.clientId,
    };
    byRefundId.set(refundId, refund);
    byRequestId.set(refundRequestId, refund);
    // A refund pending for time only ends by itself (and notifies) without being asked about.
    if ((scenario.pendingInquiries ?? 0) === 0 && (scenario.final ?? 'SUCCESS') !== 'PENDING') settleWhenDue(refund);
    return refund;
  }

  /**
   * Settles the refund at its time, by itself. A timer may fire a millisecond before the clock
   * reads its time (timers and Date.now() round differently): then it is set again for the rest,
   * rather than leaving the refund pending for ever.
   */
  function settleWhenDue(refund: SimRefund): void {
    const wait = refund.finalNotBefore - now();
    if (wait <= 0) settle(refund, 0);
    else refund.cancelSettle = options.later(wait, () => settleWhenDue(refund));
  }

  function settle(refund: SimRefund, inquiries: number): void {
    if (refund.status !== 'PROCESSING') return;
    const final = refund.scenario.final ?? 'SUCCESS';
    if (final === 'PENDING') return;
    if (inquiries < (refund.scenario.pendingInquiries ?? 0)) return;
    if (now() < refund.finalNotBefore) return;
    refund.status = final;
    refund.finalizedAt = now();
    refund.cancelSettle?.();
    if (refund.notifyUrl && refund.scenario.notify !== false) {
      options.deliver({
        refundId: refund.refundId,
        url: refund.notifyUrl,
        clientId: refund.clientId ?? options.notifyClientId,
        body: JSON.stringify(notificationBody(refund, now)),
        refundStatus: final,
      });
    }
  }

  function addMany(scenarios: readonly Scenario[]): SandboxRefundView[] {
    const problems: string[] = [];
    const ids = new Set<string>();
    scenarios.forEach((s, i) => {
      const parsed = parseScenario(s);
      if (!parsed.ok) problems.push(...parsed.problems.map((p) => `[${i}] ${p}`));
      else {
        for (const id of [parsed.scenario.refundId, parsed.scenario.refundRequestId]) {
          if (id === undefined) continue;
          if (ids.has(id) || byRefundId.has(id) || byRequestId.has(id)) problems.push(`[${i}] id ${id} already exists`);
          ids.add(id);
        }
      }
    });
    if (problems.length > 0) throw new SandboxInputError(problems);
    return scenarios.map((s) => viewOf(add(s)));
  }

  return {
    add,
    addMany,
    byRefundId: (refundId) => byRefundId.get(refundId),
    byRequestId: (refundRequestId) => byRequestId.get(refundRequestId),
    settle,
    recordNotification(attempt) {
      allNotifications.push(attempt);
      byRefundId.get(attempt.refundId)?.notifications.push(attempt);
      if (attempt.acknowledged) acknowledged += 1;
    },
    notifications(filter = {}) {
      const list = filter.refundId === undefined ? allNotifications : (byRefundId.get(filter.refundId)?.notifications ?? []);
      return filter.limit === undefined ? [...list] : list.slice(-filter.limit);
    },
    counts: () => ({ refunds: byRefundId.size, notificationAttempts: allNotifications.length, acknowledged }),
  };
}

export function scenarioOrThrow(scenario: unknown): Scenario {
  const parsed = parseScenario(scenario);
  if (!parsed.ok) throw new SandboxInputError(parsed.problems);
  return parsed.scenario;
}
