import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { signMessage } from './signing.js';
import { createTimers } from './timers.js';

/**
 * Antom's notifyRefund resend schedule (docs/antom.md, "notifyRefund"): after the first attempt,
 * up to 8 retries at these intervals, until the merchant returns the fixed acknowledgement.
 * Divided by the sandbox's time scale, so a day of retries can play in a test's second.
 */
export const NOTIFY_RETRY_INTERVALS_MS: readonly number[] = [
  0,
  2 * 60_000,
  10 * 60_000,
  10 * 60_000,
  60 * 60_000,
  2 * 60 * 60_000,
  6 * 60 * 60_000,
  15 * 60 * 60_000,
];

/**
 * `antom`: the production schedule above. `none`: one attempt only, which is what Antom's own
 * sandbox does when the reply is not the fixed acknowledgement.
 */
export type NotifyRetryMode = 'antom' | 'none';

export interface NotificationAttempt {
  readonly refundId: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  readonly at: string;
  readonly url: string;
  readonly refundStatus: 'SUCCESS' | 'FAIL';
  readonly httpStatus?: number;
  readonly acknowledged: boolean;
  /** Why the attempt did not count as acknowledged. */
  readonly problem?: string;
  /** The body sent, for tests and the admin API. */
  readonly body: string;
}

export interface Notifier {
  /** Starts delivering; the first attempt is queued at once. */
  deliver(refundId: string, url: string, clientId: string, body: string, refundStatus: 'SUCCESS' | 'FAIL'): void;
  /** Deliveries not yet acknowledged nor given up. */
  pending(): number;
  close(): Promise<void>;
}

export interface NotifierOptions {
  privateKey: KeyObject;
  keyVersion: string;
  timeScale: number;
  retries: NotifyRetryMode;
  now: () => number;
  onAttempt: (attempt: NotificationAttempt) => void;
  logger?: Logger;
}

/**
 * At most this many notifications in flight: a bulk batch of refunds finishing together must not
 * open thousands of sockets to the service at once; 32 at a few ms each still delivers thousands
 * a second.
 */
const MAX_IN_FLIGHT = 32;

/** Antom does not document its notify timeout; 10 s is below the SDKs' 15 s read timeout. */
const ATTEMPT_TIMEOUT_MS = 10_000;

export function createNotifier(options: NotifierOptions): Notifier {
  const queue: Array<() => Promise<void>> = [];
  const timers = createTimers();
  const aborts = new Set<AbortController>();
  let inFlight = 0;
  let open = 0;
  let closed = false;

  function pump(): void {
    while (!closed && inFlight < MAX_IN_FLIGHT && queue.length > 0) {
      const job = queue.shift() as () => Promise<void>;
      inFlight += 1;
      void job().finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  }

  function deliver(refundId: string, url: string, clientId: string, body: string, refundStatus: 'SUCCESS' | 'FAIL'): void {
    if (closed) return;
    open += 1;
    const target = new URL(url);
    // The merchant verifies against its own endpoint's path (with any query), host removed.
    const path = `${target.pathname}${target.search}`;
    const bytes = Buffer.from(body, 'utf8');
    const maxAttempts = options.retries === 'antom' ? 1 + NOTIFY_RETRY_INTERVALS_MS.length : 1;

    const attempt = (n: number) => async (): Promise<void> => {
      const requestTime = new Date(options.now()).toISOString();
      const signature = signMessage(options.privateKey, options.keyVersion, path, clientId, requestTime, bytes);
      const controller = new AbortController();
      aborts.add(controller);
      const timer = setTimeout(() => controller.abort(), ATTEMPT_TIMEOUT_MS);
      let httpStatus: number | undefined;
      let problem: string | undefined;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=UTF-8',
            'client-id': clientId,
            'request-time': requestTime,
            signature,
          },
          body: bytes,
          signal: controller.signal,
        });
        httpStatus = response.status;
        problem = ackProblem(response.status, await response.text());
      } catch (err) {
        problem = closed ? 'sandbox closed' : `delivery failed: ${(err as Error).message}`;
      } finally {
        clearTimeout(timer);
        aborts.delete(controller);
      }
      const acknowledged = problem === undefined;
      options.onAttempt({
        refundId,
        attempt: n,
        at: requestTime,
        url,
        refundStatus,
        acknowledged,
        body,
        httpStatus,
        problem,
      });
      if (acknowledged || closed) {
        open -= 1;
        return;
      }
      if (n >= maxAttempts) {
        open -= 1;
        options.logger?.warn({ refundId, attempts: n }, 'notifyRefund never acknowledged; giving up');
        return;
      }
      const wait = (NOTIFY_RETRY_INTERVALS_MS[n - 1] ?? 0) / options.timeScale;
      timers.later(wait, () => {
        queue.push(attempt(n + 1));
        pump();
      });
    };

    queue.push(attempt(1));
    pump();
  }

  return {
    deliver,
    pending: () => open,
    async close() {
      closed = true;
      timers.clear();
      queue.length = 0;
      for (const controller of aborts) controller.abort();
    },
  };
}

/** Antom resends unless the reply is the fixed acknowledgement (docs/antom.md, "notifyRefund"). */
function ackProblem(status: number, text: string): string | undefined {
  if (status !== 200) return `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as { result?: { resultCode?: unknown; resultStatus?: unknown } };
    if (body.result?.resultCode === 'SUCCESS' && body.result.resultStatus === 'S') return undefined;
  } catch {
    // fall through: not the acknowledgement
  }
  return `reply is not the fixed acknowledgement: ${text.slice(0, 120)}`;
}
