import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { clientAddress, createAuthThrottle, type AuthThrottle } from '../auth-throttle.js';
import type { RouteHandler } from '../server.js';
import { loginPage } from './form-pages.js';
import { html } from './html.js';
import { document, messagePage, type PageContext } from './layout.js';
import { overTls, sameOrigin, sendAnswer, sendStylesheet, type Answer } from './respond.js';
import { consoleKey, csrfToken, issueToken, parseCookies, sameSecret, setCookie, verifyCsrf, verifyToken, type SignedToken } from './session.js';
import { CONSOLE_CSS } from './styles.js';
import * as views from './views.js';

/**
 * /console: the operations console (docs/operations.md, "Console"). Off without ADMIN_TOKEN, like
 * the admin API. One log-in with the token, then a signed session cookie; every POST carries the
 * session's CSRF token and comes from our own origin, or is refused with 403. Nothing a customer
 * typed or owns is put in a URL or a log line: searches are POSTed, pages link by refund key.
 */

export interface ConsoleDeps extends views.ConsoleSources {
  /** ADMIN_TOKEN: the password of the log-in form, and the root of the signing key. */
  readonly token: string;
  readonly logger: Logger;
  /** How long a session lasts (default 8 hours: a working day, then log in again). */
  readonly sessionTtlMs?: number;
  /** Wrong tokens per address (auth-throttle.ts), shared with the admin API by the composition; one of its own by default. */
  readonly throttle?: AuthThrottle;
}

const SESSION_COOKIE = 'rn_console';
const LOGIN_COOKIE = 'rn_console_login';
export const SESSION_TTL_MS = 8 * 3_600_000;
// Long enough to type a token, short enough that a stale log-in form is refused.
const LOGIN_TTL_MS = 15 * 60_000;

function formOf(body: Buffer): URLSearchParams {
  return new URLSearchParams(body.toString('utf8'));
}

/** The key parts of a console path: '/console/refunds/R-1/recheck' → ['refunds', 'R-1', 'recheck']. */
function pathParts(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  } catch {
    return undefined; // a malformed %-escape
  }
}

export function createConsoleRoutes(deps: ConsoleDeps): RouteHandler {
  const key = consoleKey(deps.token);
  const log = deps.logger.child({ component: 'console' });
  const ttl = deps.sessionTtlMs ?? SESSION_TTL_MS;
  const throttle = deps.throttle ?? createAuthThrottle();

  /** A fresh log-in form: its own short-lived signed cookie, and the CSRF token bound to it. */
  function loginForm(req: IncomingMessage, status: number, problem?: string): Answer {
    const login = issueToken(key, 'login', deps.clock.now(), LOGIN_TTL_MS);
    return {
      status,
      body: loginPage(csrfToken(key, 'login', login.id), problem),
      cookies: [setCookie(LOGIN_COOKIE, login.value, { maxAgeMs: LOGIN_TTL_MS, secure: overTls(req) })],
    };
  }

  function logIn(req: IncomingMessage, body: Buffer, cookies: Record<string, string>): Answer {
    const now = deps.clock.now();
    const form = formOf(body);
    const pending = verifyToken(key, 'login', cookies[LOGIN_COOKIE], now);
    if (!sameOrigin(req) || !pending || !verifyCsrf(key, 'login', pending.id, form.get('csrf'))) {
      log.warn('console: log-in form refused (no valid CSRF token)');
      return loginForm(req, 403, 'The log-in form was refused: it expired or did not come from this page. Try again.');
    }
    const client = clientAddress(req);
    const wait = throttle.blockedFor(client, now);
    if (wait > 0) {
      const retryAfterS = Math.ceil(wait / 1000);
      return { ...loginForm(req, 429, `Too many wrong tokens from this address. Try again in ${retryAfterS} s.`), retryAfterS };
    }
    if (!sameSecret(form.get('token') ?? '', deps.token)) {
      if (throttle.failed(client, now)) {
        log.warn({ client }, 'console: log-in refused for this address for a while (too many wrong tokens)');
      } else {
        log.warn('console: log-in refused (wrong token)');
      }
      return loginForm(req, 401, 'Wrong token.');
    }
    throttle.succeeded(client);
    const session = issueToken(key, 'session', now, ttl);
    log.info({ expiresAt: new Date(session.expiresAt).toISOString() }, 'console: logged in');
    const secure = overTls(req);
    return {
      status: 303,
      location: '/console',
      cookies: [setCookie(SESSION_COOKIE, session.value, { maxAgeMs: ttl, secure }), setCookie(LOGIN_COOKIE, '', { maxAgeMs: 0, secure })],
    };
  }

  async function get(url: URL, parts: string[], ctx: PageContext): Promise<Answer> {
    const after = url.searchParams.get('after') || undefined;
    const [first, second, third] = parts;
    if (parts.length === 0) return views.overview(deps, ctx);
    if (first === 'search' && parts.length === 1) return views.search(deps, ctx, '');
    if (first === 'refunds' && second !== undefined && parts.length === 2) return views.refund(deps, ctx, second, url.searchParams.get('done') || undefined);
    if (first === 'refunds' && second !== undefined && third === 'recheck' && parts.length === 3) return views.confirmRecheck(deps, ctx, second);
    if (first === 'outbox' && third === 'retry' && parts.length === 3 && /^\d+$/.test(second ?? '')) {
      return views.confirmRetry(ctx, Number(second), url.searchParams.get('refund') || undefined);
    }
    if (first === 'stalled' && parts.length === 1) return views.stalled(deps, ctx, after);
    if (first === 'failed' && parts.length === 1) return views.failed(deps, ctx, url.searchParams.get('reason') || undefined, after);
    if (first === 'dead' && parts.length === 1) return views.dead(deps, ctx, after !== undefined && /^\d+$/.test(after) ? Number(after) : undefined);
    return views.notFound(ctx);
  }

  async function post(req: IncomingMessage, parts: string[], form: URLSearchParams, ctx: PageContext): Promise<Answer> {
    const [first, second, third] = parts;
    if (first === 'logout' && parts.length === 1) {
      log.info('console: logged out');
      return { status: 303, location: '/console/login', cookies: [setCookie(SESSION_COOKIE, '', { maxAgeMs: 0, secure: overTls(req) })] };
    }
    if (first === 'search' && parts.length === 1) return views.search(deps, ctx, form.get('q') ?? '');
    if (first === 'refunds' && second !== undefined && third === 'recheck' && parts.length === 3) {
      log.info({ refund: second }, 'console: re-check');
      return views.recheck(deps, second);
    }
    if (first === 'outbox' && third === 'retry' && parts.length === 3 && /^\d+$/.test(second ?? '')) {
      log.info({ outboxId: Number(second) }, 'console: retry');
      return views.retry(deps, Number(second), form.get('refund') || undefined);
    }
    return views.notFound(ctx);
  }

  /** Under a session: a GET is shown; a POST only with the session's CSRF token, from our origin. */
  async function withSession(req: IncomingMessage, url: URL, parts: string[], body: Buffer, session: SignedToken): Promise<Answer> {
    const ctx: PageContext = { csrf: csrfToken(key, 'session', session.id) };
    if (req.method === 'GET') return get(url, parts, ctx);
    const form = formOf(body);
    if (!sameOrigin(req) || !verifyCsrf(key, 'session', session.id, form.get('csrf'))) {
      log.warn({ path: url.pathname }, 'console: form refused (missing or wrong CSRF token, or another origin)');
      return { status: 403, body: messagePage(ctx, 'other', 'Refused', 'The form was refused: its CSRF token is missing or wrong. Reload the page and try again.') };
    }
    return post(req, parts, form, ctx);
  }

  async function answer(req: IncomingMessage, url: URL, body: Buffer): Promise<Answer | 'stylesheet'> {
    const parts = pathParts(url.pathname);
    if (parts === undefined) return { status: 400, body: document('Bad request', html`<main><p>Malformed address.</p></main>`) };
    if (req.method === 'GET' && parts.join('/') === 'assets/console.css') return 'stylesheet';
    const cookies = parseCookies(req.headers.cookie);
    const session = verifyToken(key, 'session', cookies[SESSION_COOKIE], deps.clock.now());
    if (parts.length === 1 && parts[0] === 'login') {
      if (req.method === 'POST') return logIn(req, body, cookies);
      return session ? { status: 303, location: '/console' } : loginForm(req, 200);
    }
    if (session) return withSession(req, url, parts, body, session);
    if (req.method === 'GET') return { status: 303, location: '/console/login' };
    log.warn({ path: url.pathname }, 'console: form refused (no session)');
    return { status: 403, body: document('Refused', html`<main><p class="notice error" role="alert">Your session has ended. <a href="/console/login">Log in again</a>.</p></main>`) };
  }

  return async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The server matches the prefix '/console': '/consoles' is not ours.
    if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) {
      return sendAnswer(res, { status: 404, body: document('Not found', html`<main><p>No such page.</p></main>`) });
    }
    const result = await answer(req, url, body);
    if (result === 'stylesheet') return sendStylesheet(res, CONSOLE_CSS);
    sendAnswer(res, result);
  };
}
