/**
 * Which notifications an outcome produces, and to whom: a routing tree in the spirit of
 * Alertmanager's. The rules are data (config/routing.yaml, parsed by src/config/routing.ts); this
 * module only evaluates them. It returns *intents* (deliveries); the outbox dispatcher makes them
 * happen, exactly once per dedupe key.
 *
 * Semantics, as in Alertmanager:
 * - routes are tried in file order; the first that matches takes the subject, and later siblings
 *   are not tried, unless the matching route says `continue: true`;
 * - a route with child `routes` hands the subject to its children (same rules); only when no child
 *   matches does the route's own `receivers` list apply;
 * - a child inherits `template`, `groupBy` and `playbook` from its parent unless it sets its own.
 */
import { minorUnitsGreaterThan } from './money.js';
import type { Customer, Money } from './refund.js';
import { lookupResultCode, type ResultCodeTable } from './result-codes.js';

export type NotificationEvent = 'refund.completed' | 'refund.failed' | 'refund.stalled' | 'integration.fault';

export const NOTIFICATION_EVENTS: readonly NotificationEvent[] = [
  'refund.completed',
  'refund.failed',
  'refund.stalled',
  'integration.fault',
];

/** What happened, as routing and the message builders see it. */
export interface NotificationSubject {
  readonly event: NotificationEvent;
  /** The tracking key (refundId, or `request:<refundRequestId>`). */
  readonly refundKey: string;
  readonly refundId?: string;
  readonly refundRequestId?: string;
  readonly paymentId: string;
  /** Antom's refund status: SUCCESS / FAIL for outcomes, the last seen status for stalled. */
  readonly status?: string;
  /** Normalised result code, e.g. RISK_REJECT; absent on success. */
  readonly reasonCode?: string;
  /** As Antom sent them. */
  readonly resultCode?: string;
  readonly resultMessage?: string;
  readonly refundAmount?: Money;
  readonly merchantAccountId?: string;
  readonly paymentMethodType?: string;
  readonly customer?: Customer;
  /** The result-code table's escalate flag for reasonCode. */
  readonly escalate?: boolean;
  /** ISO-8601, as Antom sent it. */
  readonly refundTime?: string;
  /** Epoch ms when the outcome (or the stall, or the fault) was detected. */
  readonly detectedAt: number;
  readonly inquiries?: number;
  /** Stalled only: the escalation stage (1 for the first stall notice, 2 for the next, …). */
  readonly stage?: number;
  /** The refund-initiated record's metadata; an order reference in it is shown to the customer. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** The refund's trace (its origin's W3C traceparent): a delivery's send span is its child. */
  readonly traceparent?: string;
}

export type DeliveryTemplate = 'ops-line' | 'escalation' | 'stalled' | 'integration-fault' | 'customer-completed';

/** The templates a route may name; `customer-completed` is implied by a customer receiver. */
export type RouteTemplate = Exclude<DeliveryTemplate, 'customer-completed'>;

export const ROUTE_TEMPLATES: readonly RouteTemplate[] = ['ops-line', 'escalation', 'stalled', 'integration-fault'];

export type DeliveryReceiver =
  | { readonly type: 'slack'; readonly channel: string }
  | { readonly type: 'email'; readonly to: readonly string[] }
  | { readonly type: 'customer-email' };

/** The receivers of operations messages (everything but the customer). */
export type OpsReceiver = Extract<DeliveryReceiver, { readonly type: 'slack' | 'email' }>;

/** One field of a group key and the subject's value of it (`-` when the subject lacks it). */
export interface GroupPart {
  /** Absent only in group keys written before keys were stored as structure (see groupKeyFromLegacy). */
  readonly field?: GroupField;
  readonly value: string;
}

/**
 * What the deliveries of one group share: the template and the route's `groupBy` fields with
 * their values, in `groupBy` order. Kept as structure from routing to the store and the message.
 */
export interface GroupKey {
  readonly template: DeliveryTemplate;
  readonly parts: readonly GroupPart[];
}

export interface Delivery {
  readonly receiver: DeliveryReceiver;
  readonly template: DeliveryTemplate;
  /**
   * For routes with `groupBy`. In Slack a group is one message updated in place (chat.update); by
   * email, the first refund is sent at once and the rest of the window's refunds follow in one
   * summary when the window closes.
   */
  readonly group?: GroupKey;
  /** What a human should do: the route's own playbook, or the result-code table's for reasonCode. */
  readonly playbook?: string;
  /**
   * `${refundKey}:${receiverId}:${template}` (+ `:${stage}` for stalled). Deterministic, so the
   * outbox can make it unique and a replayed outcome never notifies anyone twice. The customer's
   * receiver id is `customer`, not the address: the key is logged and stored, the address is PII.
   */
  readonly dedupeKey: string;
  /** The name (or position) of the route that produced it, for the timeline and debugging. */
  readonly route: string;
}

export interface ReceiverSpec {
  readonly name: string;
  /** `$SLACK_OPS_CHANNEL`, `$SLACK_ESCALATION_CHANNEL`, `#channel` or a channel id. */
  readonly slack?: string;
  /** Literal addresses and/or `$ESCALATION_EMAIL_TO`. */
  readonly email?: readonly string[];
  /** The customer of the refund, with the customer-completed template (refund.completed only). */
  readonly customerEmail?: boolean;
}

export const GROUP_FIELDS = ['reasonCode', 'event', 'status', 'currency', 'merchantAccountId', 'paymentMethodType'] as const;
export type GroupField = (typeof GROUP_FIELDS)[number];

export interface RouteMatch {
  readonly event?: readonly NotificationEvent[];
  /** Normalised codes (no DPOS_ prefix), upper case. */
  readonly reasonCode?: readonly string[];
  /** Upper case. */
  readonly status?: readonly string[];
  /** Upper case. */
  readonly currency?: readonly string[];
  /** Strictly greater than, in minor units; only an amount in the same currency can match. */
  readonly amountAbove?: Money;
  readonly merchantAccountId?: readonly string[];
  /** Compared case-insensitively (stored upper case). */
  readonly paymentMethodType?: readonly string[];
  readonly escalate?: boolean;
}

export interface RouteNode {
  /** `name:` from the file, or `routes[0].routes[1]`. */
  readonly name: string;
  readonly match: RouteMatch;
  /** Names of entries in RoutingTree.receivers. */
  readonly receivers: readonly string[];
  readonly template?: RouteTemplate;
  readonly groupBy?: readonly GroupField[];
  readonly playbook?: string;
  readonly continue: boolean;
  readonly routes: readonly RouteNode[];
  /** `file:line` of the route, for messages. */
  readonly source?: string;
}

export interface RoutingTree {
  readonly receivers: ReadonlyMap<string, ReceiverSpec>;
  readonly routes: readonly RouteNode[];
}

/** The playbook line for a normalised reason code: what a human should do. */
export type PlaybookLookup = (reasonCode: string) => string | undefined;

export interface RoutingContext {
  /** CUSTOMER_EMAILS. */
  readonly customerEmails: boolean;
  /** SLACK_OPS_CHANNEL. */
  readonly opsChannel: string;
  /** SLACK_ESCALATION_CHANNEL. */
  readonly escalationChannel: string;
  /** ESCALATION_EMAIL_TO; an empty list makes `$ESCALATION_EMAIL_TO` resolve to no delivery. */
  readonly escalationEmailTo: readonly string[];
  /** Playbook lines by reason code, normally playbookLookup(resultCodeTable). */
  readonly playbook?: PlaybookLookup;
}

/** The playbook text of the result-code table (config/result-codes.yaml), reused, not copied. */
export function playbookLookup(table: ResultCodeTable): PlaybookLookup {
  return (reasonCode) => lookupResultCode(table, reasonCode)?.playbook;
}

function defaultTemplate(event: NotificationEvent): RouteTemplate {
  switch (event) {
    case 'refund.completed':
    case 'refund.failed':
      return 'ops-line';
    case 'refund.stalled':
      return 'stalled';
    case 'integration.fault':
      return 'integration-fault';
  }
}

function matchesRoute(match: RouteMatch, subject: NotificationSubject): boolean {
  const upper = (s: string | undefined) => s?.trim().toUpperCase();
  if (match.event && !match.event.includes(subject.event)) return false;
  if (match.reasonCode && !includes(match.reasonCode, upper(subject.reasonCode))) return false;
  if (match.status && !includes(match.status, upper(subject.status))) return false;
  const currency = upper(subject.refundAmount?.currency);
  if (match.currency && !includes(match.currency, currency)) return false;
  if (match.amountAbove) {
    if (!subject.refundAmount || currency !== match.amountAbove.currency) return false;
    if (!minorUnitsGreaterThan(subject.refundAmount.value, match.amountAbove.value)) return false;
  }
  if (match.merchantAccountId && !includes(match.merchantAccountId, subject.merchantAccountId)) return false;
  if (match.paymentMethodType && !includes(match.paymentMethodType, upper(subject.paymentMethodType))) return false;
  if (match.escalate !== undefined && (subject.escalate ?? false) !== match.escalate) return false;
  return true;
}

function includes(list: readonly string[], value: string | undefined): boolean {
  return value !== undefined && list.includes(value);
}

interface Inherited {
  readonly template?: RouteTemplate;
  readonly groupBy?: readonly GroupField[];
  readonly playbook?: string;
}

/**
 * The deliveries a subject produces. Deliveries with the same dedupe key (two matching routes
 * naming the same channel, say) are emitted once, the first route's winning. `identity` begins
 * each dedupe key: the refund by default; an alert raised once whichever refund raises it (one
 * integration fault per code per hour) passes its own, so its deliveries are written once.
 */
export function routeNotification(subject: NotificationSubject, tree: RoutingTree, ctx: RoutingContext, identity: string = subject.refundKey): Delivery[] {
  const out = new Map<string, Delivery>();
  walk({ subject, identity, tree, ctx, out }, tree.routes, {});
  return [...out.values()];
}

interface Walk {
  readonly subject: NotificationSubject;
  readonly identity: string;
  readonly tree: RoutingTree;
  readonly ctx: RoutingContext;
  readonly out: Map<string, Delivery>;
}

function walk(w: Walk, nodes: readonly RouteNode[], inherited: Inherited): boolean {
  let matchedAny = false;
  for (const node of nodes) {
    if (!matchesRoute(node.match, w.subject)) continue;
    matchedAny = true;
    const effective: Inherited = {
      template: node.template ?? inherited.template,
      groupBy: node.groupBy ?? inherited.groupBy,
      playbook: node.playbook ?? inherited.playbook,
    };
    const handledByChild = node.routes.length > 0 && walk(w, node.routes, effective);
    if (!handledByChild) {
      for (const name of node.receivers) {
        const spec = w.tree.receivers.get(name);
        if (spec) emit(spec, node.name, w, effective);
      }
    }
    if (!node.continue) break;
  }
  return matchedAny;
}

function emit(spec: ReceiverSpec, routeName: string, w: Walk, effective: Inherited): void {
  const { subject, ctx } = w;
  const add = (delivery: Omit<Delivery, 'route'>) => {
    if (!w.out.has(delivery.dedupeKey)) w.out.set(delivery.dedupeKey, { ...delivery, route: routeName });
  };
  const template = effective.template ?? defaultTemplate(subject.event);
  const stage = template === 'stalled' ? `:${subject.stage ?? 1}` : '';
  const playbook = effective.playbook ?? (subject.reasonCode !== undefined ? ctx.playbook?.(subject.reasonCode) : undefined);
  const group = effective.groupBy && effective.groupBy.length > 0 ? groupKey(template, effective.groupBy, subject) : undefined;
  const ops = (receiver: OpsReceiver) =>
    add({ receiver, template, group, playbook, dedupeKey: `${w.identity}:${receiverKey(receiver)}:${template}${stage}` });
  if (spec.slack !== undefined) {
    const channel = resolveChannel(spec.slack, ctx);
    if (channel) ops({ type: 'slack', channel });
  }
  if (spec.email !== undefined) {
    const to = resolveAddresses(spec.email, ctx);
    if (to.length > 0) ops({ type: 'email', to });
  }
  // The customer hears only about a completed refund, only when the record gave an address,
  // and only while CUSTOMER_EMAILS is on; anything else is not an error, just nothing to send.
  if (spec.customerEmail && subject.event === 'refund.completed' && ctx.customerEmails && subject.customer?.email) {
    add({ receiver: { type: 'customer-email' }, template: 'customer-completed', dedupeKey: `${w.identity}:customer:customer-completed` });
  }
}

/**
 * A receiver's identity as one string: the outbox's `channel` (deliveries to one receiver go in
 * order, one lane each; outages are per receiver) and a group's lookup key. Only ever compared,
 * never parsed: whoever needs the channel or the addresses reads the receiver itself. The
 * customer's identity is `customer`, not the address: it is logged and stored, the address is PII.
 */
export function receiverKey(receiver: DeliveryReceiver): string {
  switch (receiver.type) {
    case 'slack':
      return `slack:${receiver.channel}`;
    case 'email':
      return `email:${receiver.to.join(',')}`;
    case 'customer-email':
      return 'customer';
  }
}

function resolveChannel(ref: string, ctx: RoutingContext): string | undefined {
  if (ref === '$SLACK_OPS_CHANNEL') return ctx.opsChannel || undefined;
  if (ref === '$SLACK_ESCALATION_CHANNEL') return ctx.escalationChannel || undefined;
  return ref || undefined;
}

function resolveAddresses(refs: readonly string[], ctx: RoutingContext): string[] {
  const seen = new Set<string>();
  for (const ref of refs) {
    const expanded = ref === '$ESCALATION_EMAIL_TO' ? ctx.escalationEmailTo : [ref];
    for (const address of expanded) {
      const trimmed = address.trim();
      if (trimmed !== '') seen.add(trimmed);
    }
  }
  // Sorted, so that the dedupe key does not change when the same list is written in another order.
  return [...seen].sort();
}

/** The group of a subject under `groupBy`: `-` stands for a field the subject lacks. */
function groupKey(template: DeliveryTemplate, fields: readonly GroupField[], subject: NotificationSubject): GroupKey {
  const value = (field: GroupField): string => {
    switch (field) {
      case 'reasonCode':
        return subject.reasonCode ?? '-';
      case 'event':
        return subject.event;
      case 'status':
        return subject.status ?? '-';
      case 'currency':
        return subject.refundAmount?.currency ?? '-';
      case 'merchantAccountId':
        return subject.merchantAccountId ?? '-';
      case 'paymentMethodType':
        return subject.paymentMethodType ?? '-';
    }
  };
  return { template, parts: fields.map((field) => ({ field, value: value(field) })) };
}

/**
 * A group key as one string, e.g. `escalation:RISK_REJECT` for groupBy [reasonCode]: the store's
 * lookup of the open group. Like receiverKey, compared and never parsed.
 */
export function groupIdentity(key: GroupKey): string {
  return [key.template, ...key.parts.map((p) => p.value)].join(':');
}

/**
 * A group key as it was written into delivery payloads before keys were structure (migration 0005) (`escalation:RISK_REJECT`):
 * read once when such a delivery is sent after an upgrade. Which field each value came from was
 * not kept, so the parts have none.
 */
export function groupKeyFromLegacy(text: string): GroupKey {
  const [template, ...values] = text.split(':');
  return { template: template as DeliveryTemplate, parts: values.map((value) => ({ value })) };
}
