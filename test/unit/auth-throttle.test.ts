import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefundStore } from '../../src/app/ports.js';
import { createAdminRoutes } from '../../src/adapters/http/admin-routes.js';
import { AUTH_MAX_FAILURES, AUTH_WINDOW_MS, createAuthThrottle } from '../../src/adapters/http/auth-throttle.js';
import { createConsoleRoutes } from '../../src/adapters/http/console/console-routes.js';
import { createHttpServer, type HttpServer } from '../../src/adapters/http/server.js';
import { createFakeClock, createMemoryStore, quietLogger, type FakeClock } from '../support/fakes.js';

/**
 * Wrong ADMIN_TOKENs (docs/operations.md, "Admin API and console: wrong tokens"): after ten
 * within a minute, the address is refused — even with the right token — until the window passes;
 * other addresses are not.
 */
const TOKEN = 'throttle-unit-token';

describe('the wrong-token throttle', () => {
  it('blocks an address at its tenth failure in a window, for what is left of the window', () => {
    const throttle = createAuthThrottle();
    const t0 = 1_000_000;
    for (let i = 0; i < AUTH_MAX_FAILURES - 1; i++) expect(throttle.failed('10.0.0.1', t0 + i * 1000)).toBe(false);
    expect(throttle.blockedFor('10.0.0.1', t0 + 9_000)).toBe(0);
    expect(throttle.failed('10.0.0.1', t0 + 9_000)).toBe(true);
    // Blocked until the first failure is a window old.
    expect(throttle.blockedFor('10.0.0.1', t0 + 9_000)).toBe(AUTH_WINDOW_MS - 9_000);
    expect(throttle.blockedFor('10.0.0.2', t0 + 9_000)).toBe(0);
    expect(throttle.blockedFor('10.0.0.1', t0 + AUTH_WINDOW_MS - 1)).toBe(1);
    // Then the address may try again; one more failure blocks it again (nine still in the window).
    expect(throttle.blockedFor('10.0.0.1', t0 + AUTH_WINDOW_MS)).toBe(0);
    expect(throttle.failed('10.0.0.1', t0 + AUTH_WINDOW_MS)).toBe(true);
    expect(throttle.blockedFor('10.0.0.1', t0 + AUTH_WINDOW_MS)).toBe(1_000);
  });

  it('forgets an address that got the token right, and failures older than the window', () => {
    const throttle = createAuthThrottle({ maxFailures: 3, windowMs: 10_000 });
    throttle.failed('a', 0);
    throttle.failed('a', 1);
    throttle.succeeded('a');
    throttle.failed('a', 2);
    throttle.failed('a', 3);
    expect(throttle.blockedFor('a', 4)).toBe(0);
    throttle.failed('b', 0);
    throttle.failed('b', 1);
    expect(throttle.failed('b', 20_000)).toBe(false);
  });

  it('remembers a bounded number of addresses', () => {
    const throttle = createAuthThrottle({ maxFailures: 2, maxClients: 3 });
    for (const client of ['a', 'b', 'c', 'd']) {
      throttle.failed(client, 0);
      throttle.failed(client, 1);
    }
    expect(throttle.blockedFor('a', 2)).toBe(0); // forgotten: the longest-known
    expect(['b', 'c', 'd'].map((c) => throttle.blockedFor(c, 2) > 0)).toEqual([true, true, true]);
  });
});

describe('wrong tokens over HTTP', () => {
  let clock: FakeClock;
  let store: RefundStore;
  let server: HttpServer;
  let base: string;

  beforeAll(async () => {
    clock = createFakeClock();
    store = await createMemoryStore();
    const admin = createAdminRoutes({ store, clock, token: TOKEN });
    const consoleHandler = createConsoleRoutes({ token: TOKEN, logger: quietLogger, store, clock });
    server = createHttpServer({
      name: 'admin',
      host: '127.0.0.1',
      port: 0,
      logger: quietLogger,
      routes: [
        ...(['GET', 'POST'] as const).map((method) => ({ method, path: '/admin/', prefix: true, handler: admin })),
        ...(['GET', 'POST'] as const).map((method) => ({ method, path: '/console', prefix: true, handler: consoleHandler })),
      ],
    });
    ({ url: base } = await server.start());
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  const summary = (token: string) => fetch(`${base}/admin/summary`, { headers: { authorization: `Bearer ${token}` } });

  it('the admin API answers 429 with Retry-After after ten wrong bearer tokens, even to the right one, until the window passes', async () => {
    expect((await summary(TOKEN)).status).toBe(200);
    for (let i = 0; i < AUTH_MAX_FAILURES; i++) expect((await summary(`guess-${i}`)).status).toBe(401);
    const refused = await summary(TOKEN);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe(String(AUTH_WINDOW_MS / 1000));
    expect(((await refused.json()) as { error: string }).error).toMatch(/too many wrong tokens/);
    clock.advance(AUTH_WINDOW_MS);
    expect((await summary(TOKEN)).status).toBe(200);
  });

  it('the console log-in refuses an address after ten wrong tokens (429, Retry-After), then lets the right token in', async () => {
    const cookieOf = (res: Response, name: string) =>
      res.headers
        .getSetCookie()
        .find((c) => c.startsWith(`${name}=`))
        ?.split(';')[0];
    const form = await fetch(`${base}/console/login`);
    const page = await form.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const login = cookieOf(form, 'rn_console_login')!;
    const logIn = (token: string) =>
      fetch(`${base}/console/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: login },
        body: new URLSearchParams({ csrf, token }).toString(),
      });
    for (let i = 0; i < AUTH_MAX_FAILURES; i++) expect((await logIn(`guess-${i}`)).status).toBe(401);
    const refused = await logIn(TOKEN);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('Too many wrong tokens from this address.');
    expect(cookieOf(refused, 'rn_console')).toBeUndefined();
    clock.advance(AUTH_WINDOW_MS);
    const done = await logIn(TOKEN);
    expect(done.status).toBe(303);
    expect(cookieOf(done, 'rn_console')).toBeDefined();
  });
});
