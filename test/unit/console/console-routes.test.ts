import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefundStore } from '../../../src/app/ports.js';
import { createConsoleRoutes } from '../../../src/adapters/http/console/console-routes.js';
import { createHttpServer, type HttpServer } from '../../../src/adapters/http/server.js';
import { consoleRoutes } from '../../../src/composition/console.js';
import { newRefund } from '../../contract/refund-store.contract.js';
import { createFakeClock, createMemoryStore, quietLogger, type FakeClock } from '../../support/fakes.js';

/**
 * The console over HTTP, in process, with the real store in memory and a fake clock: log-in,
 * sessions, CSRF, the security headers, masking and escaping. The browser test
 * (test/integration/console.test.ts) drives the same pages through Chromium.
 */
const TOKEN = 'console-unit-token';
const HOUR = 3_600_000;

describe('operations console routes', () => {
  let clock: FakeClock;
  let store: RefundStore;
  let server: HttpServer;
  let base: string;
  let rechecks = 0;

  beforeAll(async () => {
    clock = createFakeClock();
    store = await createMemoryStore();
    const now = clock.now();
    await store.trackRefunds(
      [
        newRefund(1, { customer: { email: 'jane.doe@example.com', name: 'Jane Doe' } }),
        newRefund(2, { paymentId: '<script>alert(1)</script>' }),
      ],
      { now, firstPollAt: now + HOUR },
    );
    const r1 = (await store.getRefund('R-000001'))!;
    await store.applyDecision({ key: r1.id, version: r1.version, patch: { status: 'stalled', stalledAt: now }, timeline: [], outbox: [], now });
    const handler = createConsoleRoutes({ token: TOKEN, logger: quietLogger, store, clock, onRecheck: () => (rechecks += 1) });
    server = createHttpServer({
      name: 'admin',
      host: '127.0.0.1',
      port: 0,
      logger: quietLogger,
      routes: (['GET', 'POST'] as const).map((method) => ({ method, path: '/console', prefix: true, handler })),
    });
    ({ url: base } = await server.start());
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  const cookieOf = (res: Response, name: string) =>
    res.headers
      .getSetCookie()
      .find((c) => c.startsWith(`${name}=`))
      ?.split(';')[0];
  const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1];

  async function get(path: string, cookie?: string) {
    const res = await fetch(`${base}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    return { res, text: await res.text() };
  }
  async function post(path: string, form: Record<string, string>, cookie?: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
      body: new URLSearchParams(form).toString(),
    });
    return { res, text: await res.text() };
  }

  /** Logs in through the form; returns the session cookie and a page's CSRF token. */
  async function logIn(): Promise<{ cookie: string; csrf: string }> {
    const form = await get('/console/login');
    const login = cookieOf(form.res, 'rn_console_login')!;
    const done = await post('/console/login', { csrf: csrfOf(form.text)!, token: TOKEN }, login);
    expect(done.res.status).toBe(303);
    const cookie = cookieOf(done.res, 'rn_console')!;
    const overview = await get('/console', cookie);
    return { cookie, csrf: csrfOf(overview.text)! };
  }

  it('is off without ADMIN_TOKEN, like the admin API', () => {
    expect(consoleRoutes(undefined, {} as never)).toEqual([]);
  });

  it('sends a visitor without a session to the log-in form', async () => {
    const { res } = await get('/console/stalled');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login');
  });

  it('refuses a wrong token (401) and a log-in form without its CSRF token (403)', async () => {
    const form = await get('/console/login');
    const login = cookieOf(form.res, 'rn_console_login')!;
    const wrong = await post('/console/login', { csrf: csrfOf(form.text)!, token: 'nope' }, login);
    expect(wrong.res.status).toBe(401);
    expect(wrong.text).toContain('Wrong token.');
    expect(cookieOf(wrong.res, 'rn_console')).toBeUndefined();
    const noCsrf = await post('/console/login', { token: TOKEN }, login);
    expect(noCsrf.res.status).toBe(403);
    // The right token without the form's cookie: refused too (the CSRF token is bound to it).
    expect((await post('/console/login', { csrf: csrfOf(form.text)!, token: TOKEN })).res.status).toBe(403);
  });

  it('logs in once: an HttpOnly, SameSite=Strict session cookie with an expiry', async () => {
    const form = await get('/console/login');
    const done = await post('/console/login', { csrf: csrfOf(form.text)!, token: TOKEN }, cookieOf(form.res, 'rn_console_login'));
    const set = done.res.headers.getSetCookie().find((c) => c.startsWith('rn_console='))!;
    expect(set).toMatch(/; Path=\/console; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    // Behind a TLS-terminating proxy the cookie is Secure.
    const tlsForm = await fetch(`${base}/console/login`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(tlsForm.headers.getSetCookie()[0]).toMatch(/; Secure$/);
  });

  it('serves every page with a strict CSP, no framing and no caching', async () => {
    const { cookie } = await logIn();
    for (const path of ['/console', '/console/search', '/console/stalled', '/console/failed', '/console/dead', '/console/refunds/R-000001', '/console/login']) {
      const { res } = await get(path, cookie);
      expect(res.headers.get('content-security-policy'), path).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
    const css = await fetch(`${base}/console/assets/console.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('refuses a POST without its CSRF token, with another session\'s, or from another origin (403)', async () => {
    const { cookie, csrf } = await logIn();
    const other = await logIn();
    expect((await post('/console/refunds/R-000001/recheck', {}, cookie)).res.status).toBe(403);
    expect((await post('/console/refunds/R-000001/recheck', { csrf: other.csrf }, cookie)).res.status).toBe(403);
    expect((await post('/console/refunds/R-000001/recheck', { csrf }, cookie, { origin: 'https://evil.example' })).res.status).toBe(403);
    expect((await post('/console/refunds/R-000001/recheck', { csrf }, cookie, { origin: 'null' })).res.status).toBe(403);
    expect((await post('/console/refunds/R-000001/recheck', { csrf })).res.status).toBe(403); // no session
    expect(rechecks).toBe(0);
  });

  it('masks customer emails in lists and search results, shows them on the refund page, and finds by email', async () => {
    const { cookie, csrf } = await logIn();
    const stalled = await get('/console/stalled', cookie);
    expect(stalled.text).toContain('R-000001');
    expect(stalled.text).toContain('j***@e***.com');
    expect(stalled.text).not.toContain('jane.doe@example.com');
    const found = await post('/console/search', { csrf, q: 'jane.doe@example.com' }, cookie);
    expect(found.res.status).toBe(200);
    expect(found.text).toContain('href="/console/refunds/R-000001"');
    // The query is echoed in the search box (it is the POST's own answer), never in a result row.
    expect(found.text.split('jane.doe@example.com')).toHaveLength(2);
    expect((await post('/console/search', { csrf, q: 'P-1' }, cookie)).text).toContain('R-000001');
    expect((await post('/console/search', { csrf, q: 'RQ-2' }, cookie)).text).toContain('R-000002');
    expect((await post('/console/search', { csrf, q: 'nobody@example.com' }, cookie)).text).toContain('Nothing matches exactly.');
    const detail = await get('/console/refunds/R-000001', cookie);
    expect(detail.text).toContain('Jane Doe &lt;jane.doe@example.com&gt;');
  });

  it('escapes what records carry', async () => {
    const { cookie } = await logIn();
    const page = await get('/console/refunds/R-000002', cookie);
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('re-checks a refund after a confirmation: due now, recorded in its timeline', async () => {
    const { cookie } = await logIn();
    const confirm = await get('/console/refunds/R-000001/recheck', cookie);
    expect(confirm.text).toContain('Re-check now');
    const done = await post('/console/refunds/R-000001/recheck', { csrf: csrfOf(confirm.text)! }, cookie);
    expect(done.res.status).toBe(303);
    expect(done.res.headers.get('location')).toBe('/console/refunds/R-000001?done=recheck');
    expect((await store.getRefund('R-000001'))!.nextPollAt).toBe(clock.now());
    expect((await store.timeline('R-000001')).at(-1)).toMatchObject({ kind: 'recheck', message: 're-check requested in the console' });
    expect(rechecks).toBe(1);
    // Behind a proxy that rewrites Host, the browser's host comes as X-Forwarded-Host.
    const proxied = await post('/console/refunds/R-000001/recheck', { csrf: csrfOf(confirm.text)! }, cookie, { origin: 'https://ops.example.com', 'x-forwarded-host': 'ops.example.com' });
    expect(proxied.res.status).toBe(303);
  });

  it('pages a list by key: 50 rows, then the rest after the last key shown', async () => {
    const { cookie } = await logIn();
    const now = clock.now();
    const more = Array.from({ length: 51 }, (_, i) => newRefund(100 + i));
    await store.trackRefunds(more, { now, firstPollAt: now + HOUR });
    for (const r of more) {
      const tracked = (await store.getRefund(r.id))!;
      await store.applyDecision({ key: r.id, version: tracked.version, patch: { status: 'stalled', stalledAt: now }, timeline: [], outbox: [], now });
    }
    const rows = (page: string) => [...page.matchAll(/<tr><td><a href="\/console\/refunds\/([^"]+)"/g)].map((m) => m[1]);
    const first = await get('/console/stalled', cookie);
    const firstRows = rows(first.text);
    expect(firstRows).toHaveLength(50);
    const next = /<a href="(\/console\/stalled\?after=[^"]+)">Next page<\/a>/.exec(first.text)?.[1];
    expect(next).toBe(`/console/stalled?after=${firstRows.at(-1)}`);
    const second = await get(next!, cookie);
    expect(rows(second.text)).toEqual(['R-000149', 'R-000150']);
    expect(second.text).not.toContain('Next page');
    expect(second.text).toContain('First page');
  });

  it('ends a session after its expiry: back to the log-in form', async () => {
    const { cookie } = await logIn();
    expect((await get('/console', cookie)).res.status).toBe(200);
    clock.advance(8 * HOUR);
    const expired = await get('/console', cookie);
    expect(expired.res.status).toBe(303);
    expect(expired.res.headers.get('location')).toBe('/console/login');
  });
});
