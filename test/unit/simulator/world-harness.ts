import { createSeededRandom } from '../../../src/simulator/random.js';
import type { Reply } from '../../../src/simulator/refund-answers.js';
import type { RefundNotification } from '../../../src/simulator/refund-store.js';
import { createRefundWorld, type Inquiry, type RefundWorld, type RefundWorldOptions } from '../../../src/simulator/refund-world.js';
import type { SandboxApi } from '../../../src/simulator/scenario.js';

/**
 * The refund world without HTTP: a fake clock and a fake timer queue stand in for real time, so
 * a refund pending for minutes settles in a millisecond of test time.
 */

export const T0 = Date.parse('2026-03-01T00:00:00Z');

export interface Harness {
  world: RefundWorld;
  deliveries: RefundNotification[];
  /** Moves the fake clock on, running the timers that fall due on the way. */
  advance(ms: number): void;
  pendingTimers(): number;
}

export function harness(over: Partial<RefundWorldOptions> = {}): Harness {
  let t = T0;
  const timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  const deliveries: RefundNotification[] = [];
  const world = createRefundWorld({
    random: createSeededRandom(1),
    now: () => t,
    timeScale: 1,
    later(ms, fn) {
      const timer = { at: t + ms, fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    defaultScenario: 'not-found',
    notifyUrl: 'http://127.0.0.1:1/antom/notify/refund',
    notifyClientId: 'SANDBOX_DEFAULT',
    deliver: (n) => deliveries.push(n),
    ...over,
  });
  return {
    world,
    deliveries,
    advance(ms) {
      const until = t + ms;
      for (;;) {
        const due = timers.filter((x) => !x.cancelled && x.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        t = due.at;
        due.cancelled = true;
        due.fn();
      }
      t = until;
    },
    pendingTimers: () => timers.filter((x) => !x.cancelled).length,
  };
}

export function ask(world: RefundWorld, refundId: string, api: SandboxApi = 'v1', over: Partial<Inquiry> = {}) {
  const path = api === 'v1' ? '/ams/api/v1/payments/inquiryRefund' : '/openapi/v2/payments/inquiryRefund';
  return world.inquire({ api, path, clientId: 'SANDBOX_MERCHANT', refundId, ...over });
}

export function bodyOf(reply: Reply): Record<string, unknown> {
  if (reply.kind !== 'json') throw new Error(`expected a JSON reply, got HTTP ${reply.status}`);
  return reply.body;
}

export function resultOf(reply: Reply): Record<string, unknown> {
  return bodyOf(reply).result as Record<string, unknown>;
}
