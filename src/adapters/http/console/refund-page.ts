import type { OutboxEntry } from '../../../app/ports.js';
import type { TimelineEntry, TrackedRefund } from '../../../domain/refund.js';
import { amount, duration, statusBadge, time } from './format.js';
import { html, type Html } from './html.js';
import { page, type PageContext } from './layout.js';
import { refundHref } from './list-pages.js';

/**
 * One refund: what is known about it (the customer's address in full: this is the page where an
 * operator needs it), its whole timeline with each Antom answer and how it was classified, and
 * its outbox (events published, messages sent or given up), with the actions of the admin API.
 */

export interface RefundPageData {
  readonly refund: TrackedRefund;
  readonly timeline: readonly TimelineEntry[];
  readonly outbox: readonly OutboxEntry[];
  readonly now: number;
  /** What the action just done said (after its redirect). */
  readonly done?: string;
}

const DONE: Readonly<Record<string, { text: string; error?: boolean }>> = {
  recheck: { text: 'Re-check requested: the refund is due now, and the poll loop asks Antom within a second.' },
  'recheck-refused': { text: 'Not re-checked: the refund is final (or unknown).', error: true },
  retry: { text: 'The delivery is pending again: the dispatcher sends it on its next pass.' },
  'retry-refused': { text: 'Not retried: the entry is not dead (any more).', error: true },
};

function factsList(r: TrackedRefund, now: number): Html {
  const rows: Array<[string, unknown]> = [
    ['Status', html`${statusBadge(r.status)}${r.givenUpAt === undefined ? '' : html` <span class="muted">given up ${time(r.givenUpAt)}</span>`}`],
    ['Refund id', html`<code>${r.refundId ?? '—'}</code>`],
    ['Refund request id', html`<code>${r.refundRequestId ?? '—'}</code>`],
    ['Payment id', html`<code>${r.paymentId}</code>`],
    ['Amount', amount(r.refundAmount)],
    ['Antom refunded', r.antomConfirmed?.refundAmount ? amount(r.antomConfirmed.refundAmount) : '—'],
    ['Customer', r.customer ? `${r.customer.name ?? ''} ${r.customer.email ? `<${r.customer.email}>` : ''}`.trim() || '—' : '—'],
    ['Reason code', html`<code>${r.reasonCode ?? '—'}</code>`],
    ['Antom said', [r.lastRefundStatus, r.resultCode, r.resultMessage].filter(Boolean).join(' · ') || '—'],
    ['Inquiries', `${r.inquiries}${r.consecutiveErrors > 0 ? ` (${r.consecutiveErrors} in a row without an answer)` : ''}`],
    ['Next inquiry', r.nextPollAt === undefined ? 'none' : html`${time(r.nextPollAt)} <span class="muted">(${r.nextPollAt <= now ? 'due now' : `in ${duration(r.nextPollAt - now)}`})</span>`],
    ['Initiated', r.initiatedAt],
    ['Tracked', time(r.recordedAt)],
    ['Stalled', r.stalledAt === undefined ? '—' : html`${time(r.stalledAt)} <span class="muted">(${duration(now - r.stalledAt)} ago)</span>`],
    ['Final', r.finalizedAt === undefined ? '—' : html`${time(r.finalizedAt)}${r.detectedBy ? ` by ${r.detectedBy}` : ''}`],
    ['Escalated', r.escalated ? 'yes' : 'no'],
  ];
  return html`<dl class="facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

/** Antom's answer as the inquiry recorded it (detail.answer), or nothing. */
function answerOf(entry: TimelineEntry): Html {
  const a = entry.detail?.answer as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object') return html`<span class="muted">—</span>`;
  const said = ['refundStatus', 'resultCode', 'reasonCode', 'reason'].map((k) => a[k]).filter((v) => typeof v === 'string' && v !== '');
  return html`<strong>${String(a.classification ?? '')}</strong>${said.length > 0 ? html`<br><code>${said.join(' · ')}</code>` : ''}`;
}

function otherDetail(entry: TimelineEntry): Html {
  const rest = Object.entries(entry.detail ?? {}).filter(([k, v]) => k !== 'answer' && v !== undefined && v !== null);
  if (rest.length === 0) return html``;
  return html`<br><code class="muted">${rest.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}</code>`;
}

function timelineTable(entries: readonly TimelineEntry[]): Html {
  const rows = entries.map(
    (e) => html`<tr><td>${time(e.at)}</td><td>${e.kind}</td><td>${e.message}${otherDetail(e)}</td><td>${answerOf(e)}</td></tr>`,
  );
  return html`<table><caption>Everything recorded about this refund, oldest first</caption>
<thead><tr><th scope="col">At</th><th scope="col">Kind</th><th scope="col">What happened</th><th scope="col">Antom's answer, classified</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function outboxTable(refund: TrackedRefund, entries: readonly OutboxEntry[]): Html {
  if (entries.length === 0) return html`<p>Nothing published or sent for this refund yet.</p>`;
  const rows = entries.map(
    (e) => html`<tr><td class="num">${e.id}</td><td>${e.kind}</td><td><code>${e.channel}</code></td><td>${statusBadge(e.status)}</td>
<td class="num">${e.attempts}</td><td>${e.lastError ?? ''}</td><td>${time(e.createdAt)}</td><td>${time(e.sentAt)}</td>
<td>${e.status === 'dead' ? html`<a class="button secondary" href="/console/outbox/${e.id}/retry?refund=${encodeURIComponent(refund.id)}">Retry…</a>` : ''}</td></tr>`,
  );
  return html`<table><caption>Outcome events, notices and messages, in the order they were queued</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Kind</th><th scope="col">Channel</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Queued</th><th scope="col">Sent</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

export function refundPage(ctx: PageContext, d: RefundPageData): Html {
  const r = d.refund;
  const done = d.done ? DONE[d.done] : undefined;
  const open = r.status === 'pending' || r.status === 'stalled';
  return page(
    ctx,
    'refund',
    `Refund ${r.id}`,
    html`${done ? html`<p class="notice${done.error ? ' error' : ''}" role="status">${done.text}</p>` : ''}
${factsList(r, d.now)}
${open ? html`<p><a class="button" href="${refundHref(r.id)}/recheck">Re-check now…</a></p>` : ''}
<h2>Timeline</h2>
${timelineTable(d.timeline)}
<h2>Events and messages</h2>
${outboxTable(r, d.outbox)}`,
  );
}
