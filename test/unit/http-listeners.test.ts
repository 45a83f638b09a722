import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAntomKeyPair } from '../../src/adapters/antom/keys.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { sendJson } from '../../src/adapters/http/server.js';
import { ADMIN_TOKEN_ADVISED_LENGTH, wireHttp, type HttpListeners, type HttpParts } from '../../src/composition/http.js';
import { loadConfig } from '../../src/config/load.js';
import { createMemoryStore } from '../support/fakes.js';
import { standingHttpParts } from '../support/http-parts.js';

/**
 * The two listeners (docs/operations.md, "Two listeners"): the notify listener faces Antom on the
 * internet and must serve nothing an operator uses; the admin listener serves probes, metrics,
 * the admin API and added routes, and never the notify route. Both close on stop.
 */
const REPO_ROOT = join(import.meta.dirname, '..', '..');
const ADMIN = 'admin-token-for-listener-tests';
const merchant = generateAntomKeyPair();
const antom = generateAntomKeyPair();

const ENV = {
  CONFIG_DIR: join(REPO_ROOT, 'config'),
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  ADMIN_PORT: '0',
  ADMIN_TOKEN: ADMIN,
  ANTOM_BASE_URL: 'http://127.0.0.1:9',
  ANTOM_CLIENT_ID: 'SANDBOX_TEST',
  ANTOM_PRIVATE_KEY: merchant.privateKey,
  ANTOM_PUBLIC_KEY: antom.publicKey,
};
const config = loadConfig({ cwd: REPO_ROOT, env: ENV });

const bearer = { authorization: `Bearer ${ADMIN}` };

describe('the notify and admin listeners', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function started(over: Partial<HttpParts> = {}): Promise<{ http: HttpListeners; httpUrl: string; adminUrl: string }> {
    const store = await createMemoryStore();
    cleanups.push(() => store.close());
    const http = wireHttp(config, standingHttpParts(config, store, over));
    cleanups.push(() => http.close());
    return { http, ...(await http.start()) };
  }

  it('listen on two ports', async () => {
    const { httpUrl, adminUrl } = await started();
    expect(new URL(httpUrl).port).not.toBe(new URL(adminUrl).port);
  });

  it('the notify listener answers 404 for /admin/*, /metrics and /readyz, and serves the notify route and /healthz', async () => {
    const { httpUrl } = await started();
    for (const path of ['/admin/summary', '/admin/refunds', '/admin/outbox?status=dead', '/metrics', '/readyz']) {
      expect((await fetch(`${httpUrl}${path}`, { headers: bearer })).status, path).toBe(404);
    }
    expect((await fetch(`${httpUrl}/admin/refunds/R-1/recheck`, { method: 'POST', headers: bearer })).status).toBe(404);
    expect(await (await fetch(`${httpUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    // Unsigned: refused by the notify route itself (401), so the route is there.
    const notify = await fetch(`${httpUrl}${config.values.ANTOM_NOTIFY_PATH}`, { method: 'POST', body: '{}' });
    expect(notify.status).toBe(401);
  });

  it('the admin listener serves health, readiness, metrics and the admin API, and not the notify route', async () => {
    const { adminUrl } = await started();
    expect(await (await fetch(`${adminUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${adminUrl}/readyz`)).json()).toMatchObject({ status: 'ready' });
    expect(await (await fetch(`${adminUrl}/metrics`)).text()).toMatch(/^refund_notifier_refunds\{status="pending"\} 0$/m);
    expect(await (await fetch(`${adminUrl}/admin/summary`, { headers: bearer })).json()).toMatchObject({ refunds: { pending: 0 } });
    expect((await fetch(`${adminUrl}/admin/summary`)).status).toBe(401);
    expect((await fetch(`${adminUrl}${config.values.ANTOM_NOTIFY_PATH}`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('an added admin route is served on the admin listener only, and so is the console', async () => {
    const extraRoute = { method: 'GET', path: '/extra', prefix: true, handler: (_req: unknown, res: Parameters<typeof sendJson>[0]) => sendJson(res, 200, { page: 'overview' }) };
    const { httpUrl, adminUrl } = await started({ adminRoutes: [extraRoute] });
    expect(await (await fetch(`${adminUrl}/extra/overview`)).json()).toEqual({ page: 'overview' });
    expect((await fetch(`${httpUrl}/extra/overview`)).status).toBe(404);
    // The console (on with ADMIN_TOKEN) sends an operator to its log-in, on the admin port only.
    expect((await fetch(`${adminUrl}/console`, { redirect: 'manual' })).status).toBe(303);
    expect((await fetch(`${httpUrl}/console`, { redirect: 'manual' })).status).toBe(404);
  });

  it('close() closes both listeners, and is the same promise when called again', async () => {
    const { http, httpUrl, adminUrl } = await started();
    const closing = http.close();
    expect(http.close()).toBe(closing);
    await closing;
    await expect(fetch(`${httpUrl}/healthz`)).rejects.toThrow();
    await expect(fetch(`${adminUrl}/healthz`)).rejects.toThrow();
  });

  it('warns at startup about a short ADMIN_TOKEN, without writing it', async () => {
    const warnings = async (token: string) => {
      const lines: string[] = [];
      const logger = createLogger({ level: 'warn', destination: new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }) });
      const store = await createMemoryStore();
      cleanups.push(() => store.close());
      const short = loadConfig({ cwd: REPO_ROOT, env: { ...ENV, ADMIN_TOKEN: token } });
      wireHttp(short, { ...standingHttpParts(short, store), logger });
      return lines.filter((l) => l.includes('ADMIN_TOKEN'));
    };
    const weak = 'hunter2-token';
    expect(weak.length).toBeLessThan(ADMIN_TOKEN_ADVISED_LENGTH);
    const lines = await warnings(weak);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`ADMIN_TOKEN is shorter than ${ADMIN_TOKEN_ADVISED_LENGTH} characters`);
    expect(lines[0]).not.toContain(weak);
    expect(await warnings(ADMIN)).toEqual([]);
  });
});
