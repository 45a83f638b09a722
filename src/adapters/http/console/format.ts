import { formatMinorUnits } from '../../../domain/money.js';
import type { Money } from '../../../domain/refund.js';
import { maskEmail } from '../../log/logger.js';
import { html, type Html } from './html.js';

/** How the console writes times, spans, amounts and customer addresses. */

/** UTC, to the second: operators compare it with Antom's Dashboard and logs, which are UTC too. */
export function time(ms: number | undefined): Html {
  if (ms === undefined || !Number.isFinite(ms)) return html`<span class="muted">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

/** A span as people say it: the two largest units ("3 d 4 h", "12 min 5 s", "800 ms"). */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) parts.push(`${n} ${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0 ')).join(' ') || '0 s';
}

/** An amount as operations read it everywhere else (Slack, escalation emails, the admin API). */
export function amount(money: Money | undefined): string {
  return money ? formatMinorUnits(money, 'en') : '—';
}

/** A customer address outside a refund's own page: `j***@e***.com`, as in logs. */
export function maskedEmail(address: string | undefined): string {
  return maskEmail(address) ?? '—';
}

// Anything that looks like an address, e.g. in an SMTP error ("550 <jane@example.com>: unknown").
const ADDRESS = /[^\s<>()"',;:]+@[^\s<>()"',;:]+/g;

/** Free text (an error message) with every address in it masked, for pages other than a refund's. */
export function maskEmailsIn(text: string | undefined): string {
  return (text ?? '').replace(ADDRESS, (a) => maskEmail(a) ?? '***');
}

export function statusBadge(status: string): Html {
  return html`<span class="status status-${status}">${status}</span>`;
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.1 ? 1 : 0)} %`;
}
