import type { Logger } from 'pino';
import type { OutboxDispatcher } from '../app/dispatch-outbox.js';
import type { PollLoop } from '../app/poll-refunds.js';
import type { Clock, RefundStore } from '../app/ports.js';
import type { NotificationResult } from '../app/receive-notification.js';
import { loadPublicKey } from '../adapters/antom/keys.js';
import type { AntomClientSettings } from '../adapters/antom/client.js';
import type { AntomHealthWindow } from '../app/antom-health.js';
import { createAdminRoutes } from '../adapters/http/admin-routes.js';
import { createServiceMetrics } from '../adapters/http/metrics.js';
import { createNotifyRoute } from '../adapters/http/notify-route.js';
import { createHttpServer, type HttpServer } from '../adapters/http/server.js';
import type { IngestConsumer } from '../adapters/kafka/ingest-consumer.js';
import { withDeadline } from '../adapters/timers.js';
import type { AppConfig } from '../config/load.js';
import type { RefundNotification } from '../domain/inquiry.js';
import { consoleRoutes } from './console.js';
import { httpSettings } from './settings.js';

/**
 * The HTTP side (docs/polling.md, "Operations"): health and readiness, Prometheus metrics, Antom's
 * notifyRefund, and the admin API and the operations console when ADMIN_TOKEN is set.
 */
export function wireHttp(
  config: AppConfig,
  parts: {
    logger: Logger;
    clock: Clock;
    owner: string;
    store: RefundStore;
    ingest: IngestConsumer;
    poller: PollLoop;
    dispatcher: OutboxDispatcher;
    antom: AntomClientSettings;
    receiveNotification: (n: RefundNotification) => Promise<NotificationResult>;
    /** Whether the Kafka producer has connected once (readiness). */
    producerConnected: () => boolean;
    /** Antom's answers over the last hour, for the console. */
    antomHealth: AntomHealthWindow;
  },
): HttpServer {
  const { logger, clock, owner, store, ingest, poller, dispatcher, antom } = parts;
  const { host, port, notifyPath, adminToken } = httpSettings(config.values);

  // One probe in flight at a time, and an answer within 3 s: while SQLite waits out its
  // busy_timeout, or PostgreSQL hangs, probes must neither pile up in front of the real work nor
  // keep the orchestrator waiting.
  let storeProbe: Promise<void> | undefined;
  const probeStore = (): Promise<void> => {
    storeProbe ??= store.heartbeat(owner, clock.now()).finally(() => {
      storeProbe = undefined;
    });
    return withDeadline(storeProbe, 3_000, 'the store did not take the probe write within 3 s');
  };

  const notifyCounters = { received: 0, rejected: 0 };
  const metrics = createServiceMetrics({ ingest: () => ingest.stats, store, poll: () => poller.stats, outbox: () => dispatcher.stats, notify: () => notifyCounters });
  return createHttpServer({
    host,
    port,
    logger,
    metrics,
    readiness: [
      // A write, not a read: a store that answers reads but refuses writes is not ready.
      { name: 'store', check: probeStore },
      {
        name: 'kafka',
        check: async () => {
          if (!parts.producerConnected()) throw new Error('producer not connected');
          const health = ingest.health();
          if (!health.ok) throw new Error(health.problems.join('; '));
        },
      },
      {
        name: 'antom',
        check: async () => {
          if (!poller.isRunning()) throw new Error('poll loop not running');
        },
      },
    ],
    routes: [
      {
        method: 'POST',
        path: notifyPath,
        handler: createNotifyRoute({
          antomPublicKey: [antom.antomPublicKey, ...(antom.antomPublicKeyNext ? [antom.antomPublicKeyNext] : [])].map((k) => loadPublicKey(k)),
          // A notification signed for another client id (another merchant, our sandbox) is refused.
          clientId: antom.clientId,
          receive: parts.receiveNotification,
          logger,
          counters: notifyCounters,
        }),
      },
      ...(adminToken !== undefined
        ? (['GET', 'POST'] as const).map((method) => ({
            method,
            path: '/admin/',
            prefix: true,
            handler: createAdminRoutes({ store, clock, token: adminToken, onRecheck: () => poller.wake() }),
          }))
        : []),
      // The operations console, beside the admin API (src/composition/console.ts).
      ...consoleRoutes(adminToken, { logger, clock, store, poller, dispatcher, ingest, antomHealth: parts.antomHealth }),
    ],
  });
}
