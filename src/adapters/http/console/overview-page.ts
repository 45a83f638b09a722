import type { AntomHealthSnapshot } from '../../../app/antom-health.js';
import type { OutboxChannelSummary, OutboxStatus, StalledSummary } from '../../../app/ports.js';
import type { TrackingStatus } from '../../../domain/refund.js';
import { duration, percent, time } from './format.js';
import { html, type Html } from './html.js';
import { page, type PageContext } from './layout.js';

/** What the ingest has counted since this instance started (IngestStats, in part). */
export interface IngestFigures {
  readonly records: number;
  readonly tracked: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly lastBatchAt?: number;
  /** Records of the input topic the group has not committed past, all partitions (undefined: not known). */
  readonly consumerLag?: number;
}

export interface OverviewData {
  readonly now: number;
  readonly refunds: Record<TrackingStatus, number>;
  readonly stalled: StalledSummary;
  readonly outbox: Record<OutboxStatus, number>;
  readonly channels: readonly OutboxChannelSummary[];
  readonly antom?: AntomHealthSnapshot;
  readonly ingest?: IngestFigures;
}

// A pending entry due longer ago than this is "delayed": the dispatcher wakes on every decision
// and at least every few seconds, so a minute behind means it is stuck or swamped.
const DELAYED_AFTER_MS = 60_000;

function facts(rows: ReadonlyArray<[string, unknown]>): Html {
  return html`<dl>${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

function refundsCard(d: OverviewData): Html {
  const r = d.refunds;
  return html`<section class="card" aria-labelledby="c-refunds"><h2 id="c-refunds">Refunds by status</h2>
${facts([
  ['pending', r.pending],
  ['stalled', html`<a href="/console/stalled">${r.stalled}</a>`],
  ['completed', r.completed],
  ['failed', html`<a href="/console/failed">${r.failed}</a>`],
])}</section>`;
}

function stalledCard(d: OverviewData): Html {
  const s = d.stalled;
  const longest = s.oldestStalledAt === undefined ? '—' : duration(d.now - s.oldestStalledAt);
  return html`<section class="card" aria-labelledby="c-stalled"><h2 id="c-stalled">Stalled</h2>
${facts([
  ['stalled', s.stalled],
  ['of which given up', s.givenUp],
  ['longest stalled for', longest],
])}</section>`;
}

function antomCard(d: OverviewData): Html {
  const a = d.antom;
  if (!a) return html`<section class="card" aria-labelledby="c-antom"><h2 id="c-antom">Antom, last hour</h2><p class="muted">Not measured by this instance.</p></section>`;
  const latency = a.latencyP50Ms === undefined ? '—' : `p50 ≤ ${a.latencyP50Ms} ms, p95 ≤ ${a.latencyP95Ms} ms, max ${a.latencyMaxMs} ms`;
  // Less than an hour since this instance started: the window is as long as that.
  const span = a.windowMs >= 3_600_000 ? 'hour' : duration(a.windowMs);
  return html`<section class="card" aria-labelledby="c-antom"><h2 id="c-antom">Antom, last ${span}</h2>
${facts([
  ['answers', a.answers],
  ['error rate', html`<span class="${a.errorRate >= 0.05 ? 'bad' : ''}">${percent(a.errorRate)}</span>`],
  ['traffic-limited', a.trafficLimited],
  ['latency', latency],
])}</section>`;
}

function ingestCard(d: OverviewData): Html {
  const i = d.ingest;
  if (!i) return html``;
  return html`<section class="card" aria-labelledby="c-ingest"><h2 id="c-ingest">Ingest, since start</h2>
${facts([
  ['records read', i.records],
  ['refunds tracked', i.tracked],
  ['duplicates', i.duplicates],
  ['dead-lettered', html`<span class="${i.deadLettered > 0 ? 'bad' : ''}">${i.deadLettered}</span>`],
  ['last batch', time(i.lastBatchAt)],
  ['consumer lag', i.consumerLag === undefined ? html`<span class="muted">not known</span>` : html`<span class="${i.consumerLag >= 1000 ? 'bad' : ''}">${i.consumerLag}</span>`],
])}</section>`;
}

function outboxTable(d: OverviewData): Html {
  const troubled = d.channels.filter((c) => c.dead > 0 || c.failing > 0 || (c.oldestDueAt !== undefined && d.now - c.oldestDueAt > DELAYED_AFTER_MS));
  if (troubled.length === 0) return html`<p>No delivery is dead or delayed. Outbox: ${d.outbox.pending} pending, ${d.outbox.sent} sent.</p>`;
  const rows = troubled.map(
    (c) => html`<tr><td>${c.kind}</td><td><code>${c.channel}</code></td><td class="num">${c.pending}</td>
<td class="num">${c.failing}${c.failingSince === undefined ? '' : html` <span class="muted">(for ${duration(d.now - c.failingSince)})</span>`}</td>
<td class="num">${c.oldestDueAt !== undefined && d.now > c.oldestDueAt ? duration(d.now - c.oldestDueAt) : '—'}</td>
<td class="num">${c.dead > 0 ? html`<a class="bad" href="/console/dead">${c.dead}</a>` : '0'}</td></tr>`,
  );
  return html`<table><caption>Channels with dead, failing or overdue entries</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Channel</th><th scope="col">Pending</th><th scope="col">Failing</th><th scope="col">Oldest due for</th><th scope="col">Dead</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

export function overviewPage(ctx: PageContext, d: OverviewData): Html {
  return page(
    ctx,
    'overview',
    'Overview',
    html`<p class="muted">As of ${time(d.now)}. Antom and ingest figures are this instance's own.</p>
<div class="cards">${refundsCard(d)}${stalledCard(d)}${antomCard(d)}${ingestCard(d)}</div>
<h2>Deliveries dead or delayed</h2>
${outboxTable(d)}`,
  );
}
