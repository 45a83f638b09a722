import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, OutboxKind, OutboxStatus, RefundStore } from '../../app/ports.js';
import { formatMinorUnits } from '../../domain/money.js';
import type { Money, TrackingStatus } from '../../domain/refund.js';
import { maskEmail } from '../log/logger.js';
import { clientAddress, createAuthThrottle, type AuthThrottle } from './auth-throttle.js';
import { sendJson, type RouteHandler } from './server.js';

const STATUSES = new Set<TrackingStatus>(['pending', 'stalled', 'completed', 'failed']);

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  // Compare digests: equal length, constant time, and no length leak of the token.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** The admin API formats amounts as operations read them everywhere else (Slack, escalation emails). */
const OPS_LOCALE = 'en';

/**
 * A refund as the admin API shows it: the customer's address masked (as in logs), and the amount
 * formatted next to its minor units (`refundAmount: { currency: 'IDR', value: '1000000',
 * formatted: 'IDR 10,000.00' }`), so nobody has to know IDR's exponent to read it. Every stored
 * field is kept.
 */
export function adminRefundView<T extends { customer?: { email?: string }; refundAmount?: Money }>(
  r: T,
): Omit<T, 'refundAmount'> & { refundAmount?: Money & { readonly formatted: string } } {
  // Spread first and override, so the fields keep their order in the JSON answer.
  return {
    ...r,
    customer: r.customer?.email ? { ...r.customer, email: maskEmail(r.customer.email) } : r.customer,
    refundAmount: r.refundAmount ? { ...r.refundAmount, formatted: formatMinorUnits(r.refundAmount, OPS_LOCALE) } : undefined,
  };
}

/**
 * /admin/*: what an operator asks the service. Bearer ${ADMIN_TOKEN}; off without a token.
 *   GET  /admin/refunds?status=&after=&limit=     list (keyset pagination)
 *   GET  /admin/refunds/:key                       the refund, its timeline, its outbox entries
 *   POST /admin/refunds/:key/recheck               inquire now
 *   GET  /admin/outbox?status=dead&kind=           what was sent, or failed to be
 *   POST /admin/outbox/:id/retry                   retry a dead delivery
 *   GET  /admin/summary                            counts by status
 * Customer addresses are masked in answers, as in logs; a refund's amount carries `formatted`.
 * Outbox payloads are shown as they were (or will be) sent.
 */
export function createAdminRoutes(deps: { store: RefundStore; clock: Clock; token: string; onRecheck?: () => void; throttle?: AuthThrottle }): RouteHandler {
  const { store } = deps;
  const view = adminRefundView;
  const throttle = deps.throttle ?? createAuthThrottle();

  return async (req: IncomingMessage, res: ServerResponse) => {
    const client = clientAddress(req);
    const now = deps.clock.now();
    const wait = throttle.blockedFor(client, now);
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      const text = JSON.stringify({ error: `too many wrong tokens from this address: try again in ${retryAfter} s` });
      res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'retry-after': String(retryAfter) });
      res.end(text);
      return;
    }
    if (!authorized(req, deps.token)) {
      throttle.failed(client, now);
      return sendJson(res, 401, { error: 'missing or wrong bearer token' });
    }
    throttle.succeeded(client);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // ['admin', ...]
    const q = url.searchParams;
    const limit = Math.min(Number(q.get('limit') ?? 50) || 50, 500);

    if (req.method === 'GET' && parts[1] === 'summary' && parts.length === 2) {
      return sendJson(res, 200, { refunds: await store.countByStatus(), outbox: await store.countOutbox() });
    }
    if (req.method === 'GET' && parts[1] === 'refunds' && parts.length === 2) {
      const status = q.get('status') as TrackingStatus | null;
      if (status && !STATUSES.has(status)) return sendJson(res, 400, { error: `status must be one of ${[...STATUSES].join(', ')}` });
      const refunds = await store.listRefunds({ status: status || undefined, limit, after: q.get('after') || undefined });
      const last = refunds.at(-1);
      return sendJson(res, 200, { refunds: refunds.map(view), next: refunds.length === limit && last ? last.id : null });
    }
    if (req.method === 'GET' && parts[1] === 'refunds' && parts.length === 3) {
      const refund = await store.getRefund(parts[2]!);
      if (!refund) return sendJson(res, 404, { error: 'no such refund' });
      const [timeline, outbox] = await Promise.all([store.timeline(refund.id), store.listOutbox({ refundKey: refund.id, limit: 200 })]);
      return sendJson(res, 200, {
        refund: view(refund),
        timeline: timeline.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
        outbox: outbox.map((e) => ({ id: e.id, kind: e.kind, channel: e.channel, status: e.status, attempts: e.attempts, lastError: e.lastError, dedupeKey: e.dedupeKey })),
      });
    }
    if (req.method === 'POST' && parts[1] === 'refunds' && parts[3] === 'recheck' && parts.length === 4) {
      const ok = await store.recheckNow(parts[2]!, deps.clock.now());
      if (ok) deps.onRecheck?.();
      return sendJson(res, ok ? 202 : 409, ok ? { status: 'due now' } : { error: 'unknown refund, or already final' });
    }
    if (req.method === 'GET' && parts[1] === 'outbox' && parts.length === 2) {
      const entries = await store.listOutbox({
        status: (q.get('status') || undefined) as OutboxStatus | undefined,
        kind: (q.get('kind') || undefined) as OutboxKind | undefined,
        limit,
      });
      return sendJson(res, 200, { entries });
    }
    if (req.method === 'POST' && parts[1] === 'outbox' && parts[3] === 'retry' && parts.length === 4) {
      const ok = await store.requeueOutbox(Number(parts[2]), deps.clock.now());
      return sendJson(res, ok ? 202 : 409, ok ? { status: 'requeued' } : { error: 'no such dead entry' });
    }
    return sendJson(res, 404, { error: 'not found' });
  };
}
