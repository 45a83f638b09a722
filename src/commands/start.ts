import { createLogger } from '../adapters/log/logger.js';
import { loadConfig } from '../config/load.js';
import { createService } from '../main.js';
import type { CommandIo } from './io.js';

/**
 * `refund-notifier start`: the service, with two-stage shutdown. The first SIGTERM or SIGINT
 * drains (the running batch finishes, offsets of durable records are committed) within
 * SHUTDOWN_TIMEOUT; a second signal, or the timeout, ends the process at once. Nothing is lost
 * either way: what was not committed is redelivered and tracking is idempotent.
 */
export async function startCommand(_args: string[], io: CommandIo): Promise<number> {
  const config = loadConfig({ env: io.env, requireAntomCredentials: true });
  const logger = createLogger({ level: config.values.LOG_LEVEL });
  let fail: ((err: Error) => void) | undefined;
  const service = createService(config, { logger, onFatal: (err) => fail?.(err) });

  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    // A part of the service that cannot be brought back: stop what can be stopped and exit
    // non-zero, so the orchestrator starts a fresh process instead of keeping one that looks
    // healthy and does nothing.
    fail = (err) => {
      logger.fatal({ err }, 'unrecoverable failure: exiting so the process is restarted');
      const timer = setTimeout(() => process.exit(1), config.values.SHUTDOWN_TIMEOUT);
      timer.unref();
      service.stop().finally(() => resolve(1));
    };
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      logger.info({ signal, timeoutMs: config.values.SHUTDOWN_TIMEOUT }, 'shutting down (send the signal again to force)');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: config.values.SHUTDOWN_TIMEOUT }, 'shutdown timed out: exiting now');
        process.exit(1);
      }, config.values.SHUTDOWN_TIMEOUT);
      timer.unref();
      service.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  try {
    await service.start();
  } catch (err) {
    logger.fatal({ err }, 'start failed');
    await service.stop();
    return exitSoon(1);
  }
  return exitSoon(await stopped);
}

/**
 * A stopped service exits, whatever a library leaves open: kafkajs, after a broker crash, can keep
 * a connection its disconnect() no longer knows of, and the process would otherwise wait for the
 * orchestrator's kill (and report the clean stop as a failure). Everything of ours is closed by
 * now; the timer only ends what is left, and does not itself hold the process open.
 */
function exitSoon(code: number): number {
  setTimeout(() => process.exit(code), 500).unref();
  return code;
}
