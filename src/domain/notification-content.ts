/**
 * What a notification says, independent of where it goes. Slack (src/adapters/slack/blocks.ts) and
 * the operations email (src/adapters/email/render.ts) both render a `NotificationContent`, so a
 * message that falls back from Slack to email says the same thing.
 *
 * Every string here is plain text: values from events are *not* escaped at this layer; each
 * renderer escapes for its own medium (Slack mrkdwn, HTML).
 */
import { formatMinorUnits, sumByCurrency } from './money.js';
import type { Money } from './refund.js';
import type { DeliveryTemplate, GroupField, GroupKey, NotificationEvent, NotificationSubject } from './routing.js';

export interface Fact {
  readonly label: string;
  readonly value: string;
}

export interface ContentSection {
  readonly heading: string;
  readonly items: readonly string[];
  /** Items left out of `items` to keep the message readable ("and N more"). */
  readonly more?: number;
}

export type Severity = 'info' | 'warning' | 'critical';

export interface NotificationContent {
  readonly kind: 'refund' | 'group' | 'reminder' | 'outage';
  readonly severity: Severity;
  /** A short headline, e.g. "Refund failed: RISK_REJECT". */
  readonly title: string;
  /** One self-contained line: Slack's notification text, an email subject. */
  readonly text: string;
  readonly facts: readonly Fact[];
  /** What a human should do. */
  readonly playbook?: string;
  readonly sections?: readonly ContentSection[];
  /** A closing line (where the message came from, when it was generated). */
  readonly note?: string;
}

/**
 * Listed refunds per group message. A Slack section holds 3,000 characters and one refund line is
 * ~100, so 20 lines fit with room for long ids; beyond that a list stops being read anyway.
 */
export const MAX_LISTED_REFUNDS = 20;

const OPS_LOCALE = 'en';

/** The id a human recognises: Antom's refundId, else the merchant's request id, else our key. */
export function refundLabel(subject: { refundKey: string; refundId?: string; refundRequestId?: string }): string {
  return subject.refundId ?? subject.refundRequestId ?? subject.refundKey;
}

/** An order reference from the refund-initiated metadata, if the producer put one there. */
export function orderReference(metadata: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!metadata) return undefined;
  // The spellings producers use in practice; the first that holds a short string or number wins.
  for (const key of ['orderId', 'orderNumber', 'orderReference', 'orderRef', 'order_id', 'order_number', 'order']) {
    const value = metadata[key];
    if ((typeof value === 'string' && value.trim() !== '' && value.length <= 128) || typeof value === 'number') {
      return String(value).trim();
    }
  }
  return undefined;
}

function formatAmount(amount: Money | undefined, locale: string = OPS_LOCALE): string | undefined {
  return amount ? formatMinorUnits(amount, locale) : undefined;
}

/** ISO-8601 in UTC, to the second: operators compare it with logs, which are UTC. */
export function formatInstant(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** 90061000 -> "1d 1h", 150000 -> "2m 30s": two units at most, enough to read at a glance. */
export function formatElapsed(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  let rest = Math.max(0, Math.floor(ms));
  const parts: string[] = [];
  for (const [suffix, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${suffix}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0s';
}

/**
 * The facts about one refund, in the order an operator looks for them. Absent values are left out
 * rather than shown as "n/a", so a message is as short as the event allows.
 */
export function describeRefund(subject: NotificationSubject, locale: string = OPS_LOCALE): Fact[] {
  const facts: Fact[] = [];
  const add = (label: string, value: string | number | undefined) => {
    if (value !== undefined && String(value).trim() !== '') facts.push({ label, value: String(value) });
  };
  add('Refund', refundLabel(subject));
  if (subject.refundId !== undefined) add('Refund request', subject.refundRequestId);
  add('Payment', subject.paymentId);
  add('Order', orderReference(subject.metadata));
  add('Amount', formatAmount(subject.refundAmount, locale));
  add('Status', subject.status);
  add('Reason', subject.reasonCode);
  if (subject.resultCode !== undefined || subject.resultMessage !== undefined) {
    add('Antom result', [subject.resultCode, subject.resultMessage].filter((v) => v !== undefined && v !== '').join(': '));
  }
  add('Merchant account', subject.merchantAccountId);
  add('Payment method', subject.paymentMethodType);
  add('Refund time', subject.refundTime);
  add('Inquiries', subject.inquiries);
  add('Detected', formatInstant(subject.detectedAt));
  return facts;
}

function amountSuffix(subject: NotificationSubject): string {
  const amount = formatAmount(subject.refundAmount);
  return amount ? ` (${amount})` : '';
}

const COMPLETED_LINE_FACTS = new Set(['Refund', 'Payment', 'Order', 'Amount', 'Merchant account', 'Refund time']);

/** The content of one refund's message for a routed template (not the customer email). */
export function refundContent(
  subject: NotificationSubject,
  template: Exclude<DeliveryTemplate, 'customer-completed'>,
  options: { playbook?: string; locale?: string } = {},
): NotificationContent {
  const id = refundLabel(subject);
  const reason = subject.reasonCode ?? subject.status ?? 'unknown reason';
  const facts = describeRefund(subject, options.locale);
  const playbook = options.playbook === undefined ? {} : { playbook: options.playbook };
  switch (template) {
    case 'ops-line': {
      if (subject.event === 'refund.completed') {
        // A completed refund is routine: its line carries what identifies it, not the diagnosis.
        return {
          kind: 'refund',
          severity: 'info',
          title: `Refund completed${amountSuffix(subject)}`,
          text: `Refund ${id} completed${amountSuffix(subject)}, payment ${subject.paymentId}`,
          facts: facts.filter((f) => COMPLETED_LINE_FACTS.has(f.label)),
        };
      }
      const what = eventVerb(subject.event);
      return {
        kind: 'refund',
        severity: subject.event === 'refund.failed' ? 'warning' : 'info',
        title: `Refund ${what}: ${reason}`,
        text: `Refund ${id} ${what}: ${reason}${amountSuffix(subject)}, payment ${subject.paymentId}`,
        facts,
        ...playbook,
      };
    }
    case 'escalation':
      return {
        kind: 'refund',
        severity: 'critical',
        title: `Escalation: refund ${eventVerb(subject.event)} with ${reason}`,
        text: `Escalation: refund ${id} ${eventVerb(subject.event)} with ${reason}${amountSuffix(subject)}, payment ${subject.paymentId}`,
        facts,
        ...playbook,
      };
    case 'stalled': {
      const stage = subject.stage !== undefined && subject.stage > 1 ? ` (stage ${subject.stage})` : '';
      const status = subject.status ?? 'no answer yet';
      return {
        kind: 'refund',
        severity: 'warning',
        title: `Refund stalled${stage}: still ${status}`,
        text: `Refund ${id} is not final yet${stage}: last status ${status}${amountSuffix(subject)}, payment ${subject.paymentId}`,
        facts,
        ...(options.playbook === undefined
          ? { playbook: 'Polling goes on. Check the refund in the Antom Dashboard; if Antom shows it final, re-check it now from the admin API.' }
          : playbook),
      };
    }
    case 'integration-fault':
      return {
        kind: 'refund',
        severity: 'critical',
        title: `Integration fault: ${reason}`,
        text: `Integration fault: ${reason} while checking refund ${id}; the refund stays pending`,
        facts,
        ...playbook,
      };
  }
}

function eventVerb(event: NotificationEvent): string {
  switch (event) {
    case 'refund.completed':
      return 'completed';
    case 'refund.failed':
      return 'failed';
    case 'refund.stalled':
      return 'stalled';
    case 'integration.fault':
      return 'hit an integration fault';
  }
}

export interface GroupedRefund {
  readonly refundKey: string;
  readonly refundId?: string;
  readonly refundRequestId?: string;
  readonly paymentId: string;
  readonly refundAmount?: Money;
  readonly detectedAt: number;
}

export interface EscalationGroup {
  /** What the refunds share: the template and the route's groupBy fields with their values. */
  readonly key: GroupKey;
  readonly playbook?: string;
  readonly refunds: readonly GroupedRefund[];
  /** Epoch ms: the grouping window. */
  readonly windowStart: number;
  readonly windowEnd: number;
}

export interface EscalationGroupSummary {
  /** The reason code the refunds share, when the group is keyed by it. */
  readonly reasonCode?: string;
  /** Distinct refunds (a refund added twice, by a redelivery, counts once). */
  readonly count: number;
  readonly totals: ReadonlyArray<Money & { readonly formatted: string }>;
  /** The first MAX_LISTED_REFUNDS refunds, oldest first. */
  readonly listed: readonly GroupedRefund[];
  /** How many more were left out of `listed`. */
  readonly more: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly playbook?: string;
}

export function escalationGroupSummary(group: EscalationGroup, options: { maxListed?: number; locale?: string } = {}): EscalationGroupSummary {
  const maxListed = options.maxListed ?? MAX_LISTED_REFUNDS;
  const unique = new Map<string, GroupedRefund>();
  for (const refund of group.refunds) if (!unique.has(refund.refundKey)) unique.set(refund.refundKey, refund);
  const refunds = [...unique.values()].sort((a, b) => a.detectedAt - b.detectedAt || (a.refundKey < b.refundKey ? -1 : 1));
  const totals = sumByCurrency(refunds.map((r) => r.refundAmount)).map((m) => ({
    ...m,
    formatted: formatMinorUnits(m, options.locale ?? OPS_LOCALE),
  }));
  return {
    reasonCode: group.key.parts.find((p) => p.field === 'reasonCode')?.value,
    count: refunds.length,
    totals,
    listed: refunds.slice(0, maxListed),
    more: Math.max(0, refunds.length - maxListed),
    windowStart: group.windowStart,
    windowEnd: group.windowEnd,
    playbook: group.playbook,
  };
}

function refundLine(refund: GroupedRefund, locale: string): string {
  const amount = formatAmount(refund.refundAmount, locale);
  return [refundLabel(refund), `payment ${refund.paymentId}`, amount, formatInstant(refund.detectedAt)].filter(Boolean).join(' · ');
}

const GROUP_FIELD_LABELS: Record<GroupField, string> = {
  reasonCode: 'Reason',
  event: 'Event',
  status: 'Status',
  currency: 'Currency',
  merchantAccountId: 'Merchant account',
  paymentMethodType: 'Payment method',
};

/**
 * What the group's refunds share, said after the verb: "with RISK_REJECT in USD". A reason code
 * follows the verb; every other field is named, so a group by currency never reads as a code.
 */
function sharedBy(key: GroupKey, verb: 'failed' | 'fault' | 'stalled'): string {
  const said: string[] = [];
  for (const { field, value } of key.parts) {
    if (value === '-') continue;
    if (field === 'reasonCode') said.unshift(verb === 'fault' ? value : `with ${value}`);
    else if (field === 'currency') said.push(`in ${value}`);
    else if (field === 'event' || field === undefined) said.push(`(${value})`);
    else said.push(`(${GROUP_FIELD_LABELS[field].toLowerCase()} ${value})`);
  }
  return said.length === 0 ? '' : ` ${said.join(' ')}`;
}

/** One message for a group of refunds that share a key, rewritten as the group grows. */
export function escalationGroupContent(group: EscalationGroup, options: { maxListed?: number; locale?: string } = {}): NotificationContent {
  const locale = options.locale ?? OPS_LOCALE;
  const summary = escalationGroupSummary(group, options);
  const template = group.key.template;
  const noun = summary.count === 1 ? 'refund' : 'refunds';
  const total = summary.totals.map((t) => t.formatted).join(' + ');
  const totalText = total ? `, ${total}` : '';
  const what =
    template === 'integration-fault'
      ? `${summary.count} ${noun} hit integration fault${sharedBy(group.key, 'fault')}`
      : template === 'stalled'
        ? `${summary.count} ${noun} stalled${sharedBy(group.key, 'stalled')}`
        : `${summary.count} ${noun} failed${sharedBy(group.key, 'failed')}`;
  const facts: Fact[] = group.key.parts
    .filter((p) => p.value !== '-')
    .map((p) => ({ label: p.field === undefined ? 'Group' : GROUP_FIELD_LABELS[p.field], value: p.value }));
  facts.push({ label: 'Refunds', value: String(summary.count) });
  if (total) facts.push({ label: 'Total', value: total });
  facts.push({ label: 'First', value: formatInstant(summary.windowStart) });
  facts.push({ label: 'Last', value: formatInstant(summary.windowEnd) });
  return {
    kind: 'group',
    severity: template === 'ops-line' ? 'warning' : 'critical',
    title: template === 'escalation' ? `Escalation: ${what}` : what.charAt(0).toUpperCase() + what.slice(1),
    text: `${template === 'escalation' ? 'Escalation: ' : ''}${what}${totalText}`,
    facts,
    playbook: summary.playbook,
    sections: [
      {
        heading: summary.count === 1 ? 'Refund' : 'Refunds',
        items: summary.listed.map((r) => refundLine(r, locale)),
        more: summary.more > 0 ? summary.more : undefined,
      },
    ],
  };
}

/** A follow-up in the thread of a stalled refund's first message. */
export function stalledReminderContent(
  subject: NotificationSubject,
  info: { reminder: number; stalledSince: number; now: number },
): NotificationContent {
  const id = refundLabel(subject);
  const elapsed = formatElapsed(info.now - info.stalledSince);
  const status = subject.status ?? 'no answer yet';
  return {
    kind: 'reminder',
    severity: 'warning',
    title: `Still not final after ${elapsed}: refund ${id}`,
    text: `Reminder ${info.reminder}: refund ${id} is still not final ${elapsed} after it stalled (last status ${status})`,
    facts: [
      { label: 'Refund', value: id },
      { label: 'Payment', value: subject.paymentId },
      { label: 'Last status', value: status },
      ...(subject.inquiries === undefined ? [] : [{ label: 'Inquiries', value: String(subject.inquiries) }]),
      { label: 'Stalled since', value: formatInstant(info.stalledSince) },
      { label: 'Reminder', value: String(info.reminder) },
    ],
  };
}

export interface OutageItem {
  readonly template: DeliveryTemplate;
  readonly event?: NotificationEvent;
  readonly reasonCode?: string;
  readonly refundAmount?: Money;
}

export interface CountedKey {
  readonly key: string;
  readonly count: number;
}

export interface OutageSummary {
  readonly total: number;
  readonly byTemplate: readonly CountedKey[];
  readonly byEvent: readonly CountedKey[];
  readonly byReasonCode: readonly CountedKey[];
  readonly totals: ReadonlyArray<Money & { readonly formatted: string }>;
}

/** Counts for a backlog of held-back notifications, most frequent first (ties by name). */
export function outageSummary(items: readonly OutageItem[], options: { locale?: string } = {}): OutageSummary {
  const count = (keyOf: (item: OutageItem) => string | undefined): CountedKey[] => {
    const counts = new Map<string, number>();
    for (const item of items) {
      const key = keyOf(item);
      if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts.entries()]
      .map(([key, n]) => ({ key, count: n }))
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  };
  return {
    total: items.length,
    byTemplate: count((i) => i.template),
    byEvent: count((i) => i.event),
    byReasonCode: count((i) => i.reasonCode),
    totals: sumByCurrency(items.map((i) => i.refundAmount)).map((m) => ({
      ...m,
      formatted: formatMinorUnits(m, options.locale ?? OPS_LOCALE),
    })),
  };
}

/**
 * One message standing for a backlog that built up while a channel was down, instead of replaying
 * it message by message into a channel that has just come back.
 */
export function outageSummaryContent(
  summary: OutageSummary,
  info: { since: number; until: number; channel?: string; maxListed?: number },
): NotificationContent {
  const maxListed = info.maxListed ?? MAX_LISTED_REFUNDS;
  const section = (heading: string, counted: readonly CountedKey[]): ContentSection => ({
    heading,
    items: counted.slice(0, maxListed).map((c) => `${c.key}: ${c.count}`),
    more: counted.length > maxListed ? counted.length - maxListed : undefined,
  });
  const where = info.channel ? ` for ${info.channel}` : '';
  const noun = summary.total === 1 ? 'notification' : 'notifications';
  const sections = [section('By event', summary.byEvent), section('By message', summary.byTemplate)];
  if (summary.byReasonCode.length > 0) sections.push(section('By reason code', summary.byReasonCode));
  const total = summary.totals.map((t) => t.formatted).join(' + ');
  return {
    kind: 'outage',
    severity: 'warning',
    title: `${summary.total} ${noun} held back during an outage`,
    text: `${summary.total} ${noun}${where} ${summary.total === 1 ? 'was' : 'were'} held back between ${formatInstant(info.since)} and ${formatInstant(info.until)}`,
    facts: [
      { label: 'Held back', value: String(summary.total) },
      ...(total ? [{ label: 'Amount', value: total }] : []),
      { label: 'From', value: formatInstant(info.since) },
      { label: 'Until', value: formatInstant(info.until) },
      { label: 'Duration', value: formatElapsed(info.until - info.since) },
    ],
    sections,
    note: "Each refund's timeline in the admin API shows what was sent to whom.",
  };
}

/**
 * Operations are told once that customer emails are not going out (the SMTP server refuses or
 * cannot be reached), with how many wait and since when; nothing is lost meanwhile.
 */
export function customerEmailOutageContent(info: {
  since: number;
  now: number;
  waiting: number;
  lastError?: string;
  giveUpAfterMs: number;
}): NotificationContent {
  const noun = info.waiting === 1 ? 'customer email is' : 'customer emails are';
  const lasted = formatElapsed(info.now - info.since);
  return {
    kind: 'outage',
    severity: 'critical',
    title: 'Customer emails are delayed',
    text: `Customer emails are delayed: the mail server has been failing for ${lasted} (since ${formatInstant(info.since)}); ${info.waiting} ${noun} waiting and will be sent when it accepts mail again`,
    facts: [
      { label: 'Waiting', value: String(info.waiting) },
      { label: 'Failing since', value: formatInstant(info.since) },
      { label: 'For', value: lasted },
      ...(info.lastError ? [{ label: 'Last error', value: info.lastError.slice(0, 300) }] : []),
      { label: 'Given up after', value: formatElapsed(info.giveUpAfterMs) },
    ],
    playbook: `Check the SMTP server behind SMTP_URL (reachable? accepting mail? credentials?). Nothing is lost: each email is retried with backoff and sent once the server accepts mail; only an email still not accepted ${formatElapsed(info.giveUpAfterMs)} after its first failure is given up and reported here. A message follows when emails flow again.`,
    note: 'One message per outage; /admin/outbox?status=pending lists what waits.',
  };
}

/** The all-clear after customerEmailOutageContent. */
export function customerEmailRecoveredContent(info: { since: number; until: number; waiting: number }): NotificationContent {
  const lasted = formatElapsed(info.until - info.since);
  return {
    kind: 'outage',
    severity: 'info',
    title: 'Customer emails flow again',
    text: `Customer emails flow again after ${lasted}; the ${info.waiting} delayed ${info.waiting === 1 ? 'email is' : 'emails are'} being sent now`,
    facts: [
      { label: 'Outage', value: `${formatInstant(info.since)} to ${formatInstant(info.until)}` },
      { label: 'Lasted', value: lasted },
      { label: 'Being sent', value: String(info.waiting) },
    ],
  };
}
