import type { ServiceMetrics } from './metrics.js';
import { sendJson, type HttpRoute } from './server.js';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

/** `GET /healthz`: the process is alive and answers. Says nothing else, so any listener may serve it. */
export const healthRoute: HttpRoute = {
  method: 'GET',
  path: '/healthz',
  handler: (_req, res) => sendJson(res, 200, { status: 'ok' }),
};

/**
 * `GET /readyz`: 200 when every check passes, else 503 with each check's error. The errors name
 * internals (the store's, the broker's), so this belongs on the admin listener only.
 */
export function readinessRoute(checks: readonly ReadinessCheck[]): HttpRoute {
  return {
    method: 'GET',
    path: '/readyz',
    handler: async (_req, res) => {
      const results = await Promise.all(
        checks.map(async (c) => {
          try {
            await c.check();
            return { name: c.name, ok: true };
          } catch (err) {
            return { name: c.name, ok: false, error: (err as Error).message };
          }
        }),
      );
      const ready = results.every((r) => r.ok);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: results });
    },
  };
}

/** `GET /metrics`: Prometheus text format. */
export function metricsRoute(metrics: ServiceMetrics): HttpRoute {
  return {
    method: 'GET',
    path: '/metrics',
    handler: async (_req, res) => {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
    },
  };
}
