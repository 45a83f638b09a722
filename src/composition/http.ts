import type { Logger } from 'pino';
import type { OutboxDispatcher } from '../app/dispatch-outbox.js';
import type { Observations } from '../app/observations.js';
import type { PollLoop } from '../app/poll-refunds.js';
import type { Clock, RefundStore } from '../app/ports.js';
import type { NotificationResult } from '../app/receive-notification.js';
import { loadPublicKey } from '../adapters/antom/keys.js';
import type { AntomClientSettings } from '../adapters/antom/client.js';
import type { AntomHealthWindow } from '../app/antom-health.js';
import { createAdminRoutes } from '../adapters/http/admin-routes.js';
import { createAuthThrottle, type AuthThrottle } from '../adapters/http/auth-throttle.js';
import { healthRoute, metricsRoute, readinessRoute, type ReadinessCheck } from '../adapters/http/health-routes.js';
import { createServiceMetrics } from '../adapters/http/metrics.js';
import { createNotifyRoute } from '../adapters/http/notify-route.js';
import { createHttpServer, type HttpRoute } from '../adapters/http/server.js';
import type { IngestConsumer } from '../adapters/kafka/ingest-consumer.js';
import { withDeadline } from '../adapters/timers.js';
import type { AppConfig } from '../config/load.js';
import type { RefundNotification } from '../domain/inquiry.js';
import { consoleRoutes } from './console.js';
import { httpSettings } from './settings.js';

export interface HttpParts {
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
  /** Latency histograms and what decisions did, for /metrics (app/observations.ts). */
  observations?: Observations;
  /**
   * More routes for the admin listener (the operations console, say), after the built-in ones:
   * `{ method: 'GET', path: '/console', prefix: true, handler }`. Never served on the notify port.
   */
  adminRoutes?: readonly HttpRoute[];
  /** Antom's answers over the last hour, for the console. */
  antomHealth: AntomHealthWindow;
}

/** Both listeners, started and closed together. */
export interface HttpListeners {
  start(): Promise<{ httpUrl: string; adminUrl: string }>;
  /** Closes both; the same promise when called again. */
  close(): Promise<void>;
}

/**
 * The HTTP side (docs/operations.md, "Two listeners"): the notify listener on HTTP_PORT faces
 * Antom on the internet and serves Antom's notifyRefund and /healthz, nothing else; the admin
 * listener on ADMIN_PORT serves health, readiness, Prometheus metrics, the admin API (when
 * ADMIN_TOKEN is set) and whatever `adminRoutes` adds. Anything not in a listener's table is 404.
 */
/** Below this, ADMIN_TOKEN gets a warning at startup (docs/operations.md, "Console", "Security"). */
export const ADMIN_TOKEN_ADVISED_LENGTH = 20;

export function wireHttp(config: AppConfig, parts: HttpParts): HttpListeners {
  const { logger, store, ingest, poller, dispatcher, antom } = parts;
  const { host, port, adminPort, notifyPath, adminToken } = httpSettings(config.values);
  if (adminToken !== undefined && adminToken.length < ADMIN_TOKEN_ADVISED_LENGTH) {
    // Guessing is throttled per address (auth-throttle.ts), which bounds a short token, no more.
    logger.warn(`ADMIN_TOKEN is shorter than ${ADMIN_TOKEN_ADVISED_LENGTH} characters: use a long random one (openssl rand -hex 32)`);
  }

  const notifyCounters = { received: 0, rejected: 0 };
  const notify = createHttpServer({
    name: 'notify',
    host,
    port,
    logger,
    routes: [
      healthRoute,
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
    ],
  });

  // One count of wrong ADMIN_TOKENs per address for the admin API and the console's log-in.
  const throttle = createAuthThrottle();
  const metrics = createServiceMetrics({
    ingest: () => ingest.stats,
    lag: () => ingest.lag(),
    store,
    poll: () => poller.stats,
    outbox: () => dispatcher.stats,
    notify: () => notifyCounters,
    observations: parts.observations,
    now: () => parts.clock.now(),
  });
  const admin = createHttpServer({
    name: 'admin',
    host,
    port: adminPort,
    logger,
    routes: [
      healthRoute,
      readinessRoute(readinessChecks(parts)),
      metricsRoute(metrics),
      ...adminApiRoutes(parts, adminToken, throttle),
      // The operations console, beside the admin API (src/composition/console.ts).
      ...consoleRoutes(adminToken, { logger, clock: parts.clock, store, poller, dispatcher, ingest, antomHealth: parts.antomHealth, throttle }),
      ...(parts.adminRoutes ?? []),
    ],
  });

  let closing: Promise<void> | undefined;
  return {
    async start() {
      const [n, a] = await Promise.all([notify.start(), admin.start()]);
      return { httpUrl: n.url, adminUrl: a.url };
    },
    close() {
      closing ??= Promise.all([notify.close(), admin.close()]).then(() => undefined);
      return closing;
    },
  };
}

/** The admin API under /admin/, off without ADMIN_TOKEN. */
function adminApiRoutes(parts: HttpParts, token: string | undefined, throttle: AuthThrottle): HttpRoute[] {
  if (token === undefined) return [];
  const handler = createAdminRoutes({ store: parts.store, clock: parts.clock, token, onRecheck: () => parts.poller.wake(), throttle });
  return ['GET', 'POST'].map((method) => ({ method, path: '/admin/', prefix: true, handler }));
}

/** What /readyz asks: the store takes a write, Kafka is usable, the poll loop runs. */
function readinessChecks(parts: HttpParts): ReadinessCheck[] {
  const { clock, owner, store, ingest, poller } = parts;
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
  return [
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
  ];
}
