import type { IncomingMessage, ServerResponse } from 'node:http';
import { json, readBody } from './http-io.js';
import { SandboxInputError } from './input-error.js';
import type { RefundWorld } from './refund-world.js';
import type { Scenario } from './scenario.js';

/**
 * The sandbox's own API under /sandbox/ (docs/antom.md, "Admin API"): create refunds from
 * scenarios, see what was asked and pushed about them, stats and settings. No authentication: the
 * sandbox binds to localhost by default.
 */

/** The admin API takes bulk creations: 20,000 scenarios of ~200 bytes fit well under 32 MiB. */
const MAX_ADMIN_BODY = 32 * 1024 * 1024;

export interface AdminApiOptions {
  world: Pick<RefundWorld, 'createRefunds' | 'seen' | 'notifications'>;
  /** GET /sandbox/stats. */
  stats: () => unknown;
  /** GET /sandbox/info: url, public key, seed, time scale, the settings for the service. */
  info: () => unknown;
}

export interface AdminApi {
  handle(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<void>;
}

export function createAdminApi(options: AdminApiOptions): AdminApi {
  const { world } = options;

  async function createRefunds(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req, MAX_ADMIN_BODY);
    if (raw === undefined) return json(res, 413, { error: `body over ${MAX_ADMIN_BODY} bytes` });
    let input: unknown;
    try {
      input = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    const list = Array.isArray(input)
      ? input
      : input !== null && typeof input === 'object' && Array.isArray((input as { refunds?: unknown }).refunds)
        ? ((input as { refunds: unknown[] }).refunds)
        : [input];
    try {
      return json(res, 201, { refunds: world.createRefunds(list as Scenario[]) });
    } catch (err) {
      if (err instanceof SandboxInputError) return json(res, err.status, { error: 'invalid scenario', problems: err.problems });
      throw err;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (pathname === '/sandbox/refunds' && method === 'POST') return createRefunds(req, res);
    if (pathname.startsWith('/sandbox/refunds/') && method === 'GET') {
      const id = decodeURIComponent(pathname.slice('/sandbox/refunds/'.length));
      const seenNow = world.seen(id);
      if (!seenNow.refund && seenNow.inquiries.length === 0) return json(res, 404, { error: `no refund ${id}` });
      return json(res, 200, seenNow);
    }
    if (pathname === '/sandbox/notifications' && method === 'GET') {
      const refundId = query.get('refundId') ?? undefined;
      const limit = query.has('limit') ? Number(query.get('limit')) : undefined;
      return json(res, 200, { notifications: world.notifications({ ...(refundId ? { refundId } : {}), ...(limit ? { limit } : {}) }) });
    }
    if (pathname === '/sandbox/stats' && method === 'GET') return json(res, 200, options.stats());
    if (pathname === '/sandbox/info' && method === 'GET') return json(res, 200, options.info());
    return json(res, 404, { error: `no admin route ${method} ${pathname}` });
  }

  return { handle };
}
