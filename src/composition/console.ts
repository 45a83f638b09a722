import type { Logger } from 'pino';
import type { AntomHealthWindow } from '../app/antom-health.js';
import type { OutboxDispatcher } from '../app/dispatch-outbox.js';
import type { PollLoop } from '../app/poll-refunds.js';
import type { Clock, RefundStore } from '../app/ports.js';
import type { AuthThrottle } from '../adapters/http/auth-throttle.js';
import { createConsoleRoutes } from '../adapters/http/console/console-routes.js';
import type { RouteHandler } from '../adapters/http/server.js';
import type { IngestConsumer } from '../adapters/kafka/ingest-consumer.js';

/**
 * The operations console's routes (docs/operations.md, "Console"): GET and POST under /console,
 * for whichever listener serves the admin API. Off, like the admin API, without ADMIN_TOKEN.
 * Kept apart from the listener's own wiring so that attaching it elsewhere is one line there.
 */
export function consoleRoutes(
  adminToken: string | undefined,
  parts: { logger: Logger; clock: Clock; store: RefundStore; poller: PollLoop; dispatcher: OutboxDispatcher; ingest: IngestConsumer; antomHealth: AntomHealthWindow; throttle?: AuthThrottle },
): Array<{ method: string; path: string; prefix: boolean; handler: RouteHandler }> {
  if (adminToken === undefined) return [];
  const handler = createConsoleRoutes({
    token: adminToken,
    logger: parts.logger,
    store: parts.store,
    clock: parts.clock,
    onRecheck: () => parts.poller.wake(),
    onRetry: () => parts.dispatcher.wake(),
    antomHealth: () => parts.antomHealth.snapshot(),
    ingest: () => parts.ingest.stats,
    consumerLag: () => parts.ingest.lag(),
    throttle: parts.throttle,
  });
  return (['GET', 'POST'] as const).map((method) => ({ method, path: '/console', prefix: true, handler }));
}
