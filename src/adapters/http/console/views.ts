import type { AntomHealthSnapshot } from '../../../app/antom-health.js';
import type { Clock, RefundStore } from '../../../app/ports.js';
import type { TrackedRefund } from '../../../domain/refund.js';
import { confirmPage, searchPage } from './form-pages.js';
import { messagePage, type PageContext } from './layout.js';
import { deadPage, failedPage, PAGE_SIZE, refundHref, stalledPage } from './list-pages.js';
import { overviewPage, type IngestFigures } from './overview-page.js';
import { refundPage } from './refund-page.js';
import type { Answer } from './respond.js';

/**
 * What each console page reads and each action does, as an Answer; console-routes.ts has
 * already checked the session (and, for a POST, its CSRF token) before any of these runs.
 */

export interface ConsoleSources {
  readonly store: RefundStore;
  readonly clock: Clock;
  /** Called after a re-check made a refund due (wakes the poll loop). */
  readonly onRecheck?: () => void;
  /** Called after a dead delivery was put back (wakes the dispatcher). */
  readonly onRetry?: () => void;
  readonly antomHealth?: () => AntomHealthSnapshot;
  readonly ingest?: () => Readonly<IngestFigures>;
  /** The ingest group's lag per partition, from the broker (undefined: not known). */
  readonly consumerLag?: () => Promise<ReadonlyArray<{ readonly partition: number; readonly lag: number }>>;
}

const ok = (body: Answer['body']): Answer => ({ status: 200, body });
const seeOther = (location: string): Answer => ({ status: 303, location });

export function notFound(ctx: PageContext, what = 'No such page.'): Answer {
  return { status: 404, body: messagePage(ctx, 'other', 'Not found', what) };
}

export async function overview(s: ConsoleSources, ctx: PageContext): Promise<Answer> {
  const [refunds, stalled, outbox, channels, lag] = await Promise.all([
    s.store.countByStatus(),
    s.store.summarizeStalled(),
    s.store.countOutbox(),
    s.store.summarizeOutbox(),
    s.consumerLag?.().catch(() => []),
  ]);
  const ingest = s.ingest?.();
  // No partition answered: the broker could not say (the page shows "not known").
  const consumerLag = lag && lag.length > 0 ? lag.reduce((sum, p) => sum + p.lag, 0) : undefined;
  return ok(overviewPage(ctx, { now: s.clock.now(), refunds, stalled, outbox, channels, antom: s.antomHealth?.(), ingest: ingest && { ...ingest, consumerLag } }));
}

/**
 * Every exact match for what was typed: as a refund id (or tracking key), a refund request id, a
 * payment id and, when it has an @, a customer email; each refund once, in key order.
 */
export async function search(s: ConsoleSources, ctx: PageContext, query: string): Promise<Answer> {
  const q = query.trim().slice(0, 256);
  if (q === '') return ok(searchPage(ctx));
  const [byRefundId, byRequestId, byPayment, byEmail] = await Promise.all([
    s.store.findRefund({ refundId: q }),
    s.store.findRefund({ refundRequestId: q }),
    s.store.listRefunds({ paymentId: q, limit: PAGE_SIZE }),
    q.includes('@') ? s.store.listRefunds({ customerEmail: q, limit: PAGE_SIZE }) : Promise.resolve([]),
  ]);
  const found = new Map<string, TrackedRefund>();
  for (const r of [byRefundId, byRequestId, ...byPayment, ...byEmail]) if (r) found.set(r.id, r);
  const refunds = [...found.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return ok(searchPage(ctx, { query: q, refunds, now: s.clock.now() }));
}

export async function refund(s: ConsoleSources, ctx: PageContext, key: string, done: string | undefined): Promise<Answer> {
  const found = await s.store.getRefund(key);
  if (!found) return notFound(ctx, 'No refund is tracked under this key.');
  const [timeline, outbox] = await Promise.all([s.store.timeline(found.id), s.store.listOutbox({ refundKey: found.id, limit: 200 })]);
  return ok(refundPage(ctx, { refund: found, timeline, outbox, now: s.clock.now(), done }));
}

export async function confirmRecheck(s: ConsoleSources, ctx: PageContext, key: string): Promise<Answer> {
  const found = await s.store.getRefund(key);
  if (!found) return notFound(ctx, 'No refund is tracked under this key.');
  return ok(
    confirmPage(ctx, {
      title: `Re-check refund ${found.id}?`,
      question: `Ask Antom about refund ${found.id} now, instead of at its next scheduled inquiry. It counts against the Antom rate limit like any inquiry.`,
      action: `${refundHref(found.id)}/recheck`,
      button: 'Re-check now',
      back: refundHref(found.id),
    }),
  );
}

export async function recheck(s: ConsoleSources, key: string): Promise<Answer> {
  const now = s.clock.now();
  const due = await s.store.recheckNow(key, now);
  if (due) {
    // The operator's action is part of the refund's story (the admin API's re-check is not recorded).
    await s.store.appendTimeline(key, [{ kind: 'recheck', message: 're-check requested in the console' }], now);
    s.onRecheck?.();
  }
  return seeOther(`${refundHref(key)}?done=${due ? 'recheck' : 'recheck-refused'}`);
}

export function confirmRetry(ctx: PageContext, id: number, refundKey: string | undefined): Answer {
  const back = refundKey ? refundHref(refundKey) : '/console/dead';
  return ok(
    confirmPage(ctx, {
      title: `Retry delivery ${id}?`,
      question: `Put dead outbox entry ${id} back to pending: the dispatcher sends it again on its next pass, with a fresh run of retries.`,
      action: `/console/outbox/${id}/retry`,
      button: 'Retry delivery',
      back,
      fields: refundKey ? { refund: refundKey } : {},
    }),
  );
}

export async function retry(s: ConsoleSources, id: number, refundKey: string | undefined): Promise<Answer> {
  const requeued = await s.store.requeueOutbox(id, s.clock.now());
  if (requeued) s.onRetry?.();
  const done = requeued ? 'retry' : 'retry-refused';
  return seeOther(refundKey ? `${refundHref(refundKey)}?done=${done}` : '/console/dead');
}

export async function stalled(s: ConsoleSources, ctx: PageContext, after: string | undefined): Promise<Answer> {
  const refunds = await s.store.listRefunds({ status: 'stalled', after, limit: PAGE_SIZE });
  return ok(stalledPage(ctx, refunds, after, s.clock.now()));
}

export async function failed(s: ConsoleSources, ctx: PageContext, reason: string | undefined, after: string | undefined): Promise<Answer> {
  const [counts, refunds] = await Promise.all([
    s.store.countFailedByReason(),
    reason ? s.store.listRefunds({ status: 'failed', reasonCode: reason, after, limit: PAGE_SIZE }) : Promise.resolve(undefined),
  ]);
  return ok(failedPage(ctx, counts, reason && refunds ? { reason, refunds, after } : undefined, s.clock.now()));
}

export async function dead(s: ConsoleSources, ctx: PageContext, after: number | undefined): Promise<Answer> {
  const entries = await s.store.listOutbox({ status: 'dead', after, limit: PAGE_SIZE });
  return ok(deadPage(ctx, entries, after));
}
