import type { OutboxEntry } from '../../../app/ports.js';
import type { TrackedRefund } from '../../../domain/refund.js';
import { amount, duration, maskedEmail, maskEmailsIn, statusBadge, time } from './format.js';
import { html, type Html } from './html.js';
import { page, type PageContext } from './layout.js';

/**
 * The lists: stalled refunds, failed refunds by reason code, dead deliveries; each a page of at
 * most PAGE_SIZE in key (or id) order, the next page `?after=<last>` (keyset paging, as the admin
 * API's `after`). Customer addresses are masked here: only a refund's own page shows them.
 */

export const PAGE_SIZE = 50;

export const refundHref = (key: string) => `/console/refunds/${encodeURIComponent(key)}`;

/** A table of refunds, with the columns the list needs. */
export function refundTable(caption: string, refunds: readonly TrackedRefund[], now: number, extra?: 'stalled' | 'failed'): Html {
  if (refunds.length === 0) return html`<p>None.</p>`;
  const head = html`<th scope="col">Refund</th><th scope="col">Payment</th><th scope="col">Amount</th><th scope="col">Status</th>${
    extra === 'stalled' ? html`<th scope="col">Stalled for</th><th scope="col">Inquiries</th>` : extra === 'failed' ? html`<th scope="col">Reason</th><th scope="col">Failed at</th>` : html`<th scope="col">Tracked</th>`
  }<th scope="col">Customer</th>`;
  const rows = refunds.map((r) => {
    const cells =
      extra === 'stalled'
        ? html`<td>${r.stalledAt === undefined ? '—' : duration(now - r.stalledAt)}${r.givenUpAt === undefined ? '' : html` <span class="muted">(given up)</span>`}</td><td class="num">${r.inquiries}</td>`
        : extra === 'failed'
          ? html`<td><code>${r.reasonCode ?? '—'}</code></td><td>${time(r.finalizedAt)}</td>`
          : html`<td>${time(r.recordedAt)}</td>`;
    return html`<tr><td><a href="${refundHref(r.id)}"><code>${r.id}</code></a></td><td><code>${r.paymentId}</code></td><td>${amount(r.refundAmount)}</td><td>${statusBadge(r.status)}</td>${cells}<td>${maskedEmail(r.customer?.email)}</td></tr>`;
  });
  return html`<table><caption>${caption}</caption><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** "Next page" when the page is full (there may be more), and "first page" when not on it. */
export function pager(base: string, after: string | undefined, last: string | undefined, full: boolean): Html {
  const join = base.includes('?') ? '&' : '?';
  return html`<nav class="pager" aria-label="Pages">${after !== undefined ? html`<a href="${base}">First page</a>` : ''}${
    full && last !== undefined ? html`<a href="${base}${join}after=${encodeURIComponent(last)}">Next page</a>` : ''
  }</nav>`;
}

export function stalledPage(ctx: PageContext, refunds: readonly TrackedRefund[], after: string | undefined, now: number): Html {
  return page(
    ctx,
    'stalled',
    'Stalled refunds',
    html`<p class="hint">Refunds Antom has not settled within POLL_STALLED_AFTER; still asked at the ceiling interval until POLL_GIVE_UP_AFTER.</p>
${refundTable('Stalled refunds, by refund id', refunds, now, 'stalled')}
${pager('/console/stalled', after, refunds.at(-1)?.id, refunds.length === PAGE_SIZE)}`,
  );
}

export function failedPage(
  ctx: PageContext,
  counts: ReadonlyArray<{ reasonCode?: string; refunds: number }>,
  selected: { reason: string; refunds: readonly TrackedRefund[]; after: string | undefined } | undefined,
  now: number,
): Html {
  const rows = counts.map(
    (c) => html`<tr><td>${c.reasonCode === undefined ? html`<span class="muted">none given</span>` : html`<a href="/console/failed?reason=${encodeURIComponent(c.reasonCode)}"><code>${c.reasonCode}</code></a>`}</td><td class="num">${c.refunds}</td></tr>`,
  );
  const summary =
    counts.length === 0
      ? html`<p>No refund has failed.</p>`
      : html`<table><caption>Failed refunds per reason code, most frequent first</caption><thead><tr><th scope="col">Reason code</th><th scope="col">Refunds</th></tr></thead><tbody>${rows}</tbody></table>`;
  const list = selected
    ? html`<h2>Failed with <code>${selected.reason}</code></h2>
${refundTable(`Failed with ${selected.reason}, by refund id`, selected.refunds, now, 'failed')}
${pager(`/console/failed?reason=${encodeURIComponent(selected.reason)}`, selected.after, selected.refunds.at(-1)?.id, selected.refunds.length === PAGE_SIZE)}`
    : html``;
  return page(ctx, 'failed', 'Failed refunds by reason code', html`${summary}${list}`);
}

export function deadPage(ctx: PageContext, entries: readonly OutboxEntry[], after: number | undefined): Html {
  const rows = entries.map(
    (e) => html`<tr><td class="num">${e.id}</td><td><a href="${refundHref(e.refundKey)}"><code>${e.refundKey}</code></a></td><td>${e.kind}</td><td><code>${e.channel}</code></td>
<td class="num">${e.attempts}</td><td>${maskEmailsIn(e.lastError)}</td><td>${time(e.createdAt)}</td>
<td><a class="button secondary" href="/console/outbox/${e.id}/retry?refund=${encodeURIComponent(e.refundKey)}">Retry…</a></td></tr>`,
  );
  const table =
    entries.length === 0
      ? html`<p>No dead delivery.</p>`
      : html`<table><caption>Entries given up after their retries, oldest first</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Refund</th><th scope="col">Kind</th><th scope="col">Channel</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Created</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return page(
    ctx,
    'dead',
    'Dead deliveries',
    html`${table}${pager('/console/dead', after === undefined ? undefined : String(after), entries.at(-1) ? String(entries.at(-1)!.id) : undefined, entries.length === PAGE_SIZE)}`,
  );
}
