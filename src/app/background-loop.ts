import type { Logger } from 'pino';
import type { Sleep } from './rate-limiter.js';

/**
 * The one background-loop primitive (pg-boss's Worker): runs rounds while started; after a round
 * that did nothing, waits until there may be work again or until woken; after a round that threw,
 * logs and waits a moment. The poll loop and the outbox dispatcher are both this loop around their
 * own round, so start, stop and wake behave the same in both.
 */
export interface BackgroundLoop {
  /** Starts the rounds; a second call, or a call after stop(), does nothing. */
  start(): void;
  /** Ends the rounds: the running round finishes, no new one starts. The same promise on every call. */
  stop(): Promise<void>;
  /** Ends the current wait at once; a wake during a round skips the wait after it. */
  wake(): void;
  isRunning(): boolean;
  /** Aborted by stop(): long waits inside a round should end with it. */
  readonly signal: AbortSignal;
}

export function createBackgroundLoop(options: {
  name: string;
  logger: Logger;
  sleep: Sleep;
  /** One round; resolves to how much it did (0: nothing was due). */
  round: (signal: AbortSignal) => Promise<number>;
  /** How long to wait after a round that did nothing (it may ask the store when work is next due). */
  idleMs: () => number | Promise<number>;
  /** How long to wait after a round that threw, so a broken store is not hammered. */
  errorBackoffMs: number;
  /** Called with what a round threw (after it is logged). */
  onError?: (err: unknown) => void;
}): BackgroundLoop {
  const abort = new AbortController();
  let running = false;
  let done: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let woken = false;
  let endWait: (() => void) | undefined;

  async function wait(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      endWait = resolve;
      void options.sleep(ms, abort.signal).then(resolve, resolve);
    });
    endWait = undefined;
  }

  async function run(): Promise<void> {
    while (running) {
      let did: number;
      try {
        did = await options.round(abort.signal);
      } catch (err) {
        options.logger.error({ err, loop: options.name }, `${options.name}: round failed; retrying`);
        options.onError?.(err);
        if (running) await wait(options.errorBackoffMs);
        continue;
      }
      if (did > 0 || !running) continue;
      if (woken) {
        woken = false;
        continue;
      }
      const ms = await Promise.resolve(options.idleMs()).catch(() => options.errorBackoffMs);
      if (running) await wait(ms);
      woken = false;
    }
  }

  return {
    signal: abort.signal,
    isRunning: () => running,
    start() {
      if (running || stopping) return;
      running = true;
      done = run();
    },
    wake() {
      woken = true;
      endWait?.();
    },
    stop() {
      stopping ??= (async () => {
        running = false;
        abort.abort();
        endWait?.();
        await done;
      })();
      return stopping;
    },
  };
}
