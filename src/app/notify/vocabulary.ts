/**
 * The words the notification jobs share (docs/notifications.md): what a delivery in the outbox
 * carries, the settings, and the dependencies every job takes. Each job is its own file in this
 * folder; what is sent when is decided there, how it looks and how it travels are ports
 * (src/app/ports.ts).
 */
import type { Logger } from 'pino';
import { NotSentError } from '../../domain/errors.js';
import type { NotificationContent } from '../../domain/notification-content.js';
import { groupKeyFromLegacy, receiverKey, type Delivery, type NotificationSubject, type OpsReceiver } from '../../domain/routing.js';
import type { Clock, EmailPort, OutboxEntry, OutboxEntryInput, RefundStore, Renderers, SlackPort, Tracing } from '../ports.js';

export interface NotifySettings {
  /** Escalations with the same group key inside this window are one message. */
  groupWindowMs: number;
  /** A grouped Slack message is rewritten at most this often while refunds keep arriving. */
  groupUpdateIntervalMs: number;
  /** A stalled refund still unresolved gets a reminder in its thread this often. */
  reminderIntervalMs: number;
  /** A Slack delivery older than this when it can finally be sent is part of a backlog. */
  staleAfterMs: number;
  /** How long an ops delivery may keep failing before it falls back to the other channel. */
  fallbackAfterMs: number;
  /** How long a customer email retries temporary failures before it is given up and reported. */
  customerGiveUpAfterMs: number;
  /** How long any other delivery retries temporary failures before it is given up. */
  giveUpAfterMs: number;
  escalationEmailTo: readonly string[];
  escalationChannel: string;
}

/** What a delivery outbox entry carries. */
export interface DeliveryPayload {
  readonly delivery: Delivery;
  readonly subject: NotificationSubject;
  /** Set on a fallback: which receiver failed, and how. */
  readonly fallbackFrom?: { readonly receiver: string; readonly error: string };
}

/**
 * A delivery that is not about one refund (the customer-email outage notices): ready-made
 * content for an ops receiver.
 */
export interface MessagePayload {
  readonly message: NotificationContent;
  readonly receiver: OpsReceiver;
}

export function isMessagePayload(payload: unknown): payload is MessagePayload {
  return typeof payload === 'object' && payload !== null && 'message' in payload && 'receiver' in payload;
}

/**
 * The delivery an entry carries. Deliveries written before group keys were structure carry the
 * key as text (`escalation:RISK_REJECT`); it is read here, once, so nothing else ever parses one.
 */
export function deliveryOf(entry: Pick<OutboxEntry, 'payload'>): DeliveryPayload {
  const payload = entry.payload as DeliveryPayload;
  const group = payload.delivery.group as unknown;
  if (typeof group !== 'string') return payload;
  return { ...payload, delivery: { ...payload.delivery, group: groupKeyFromLegacy(group) } };
}

/** The outbox channel of customer emails (one receiver: the customers' SMTP server). */
export const CUSTOMER_CHANNEL = receiverKey({ type: 'customer-email' });

/** The outbox entry that sends `delivery` about `subject`. */
export function deliveryEntry(delivery: Delivery, subject: NotificationSubject, now: number, fallbackFrom?: DeliveryPayload['fallbackFrom']): OutboxEntryInput {
  return {
    dedupeKey: `delivery:${delivery.dedupeKey}`,
    kind: 'delivery',
    channel: receiverKey(delivery.receiver),
    payload: { delivery, subject, fallbackFrom } satisfies DeliveryPayload,
    availableAt: now,
  };
}

/** The outbox entry that sends ready-made content to an ops receiver, once per dedupe key. */
export function messageEntry(dedupeKey: string, receiver: OpsReceiver, message: NotificationContent, now: number): OutboxEntryInput {
  return { dedupeKey, kind: 'delivery', channel: receiverKey(receiver), payload: { message, receiver } satisfies MessagePayload, availableAt: now };
}

/** What the notification jobs work with. */
export interface NotifierDeps {
  store: RefundStore;
  /** The dispatcher's lease owner: a customer email is marked as being sent only under its lease. */
  owner: string;
  slack: SlackPort;
  email?: EmailPort;
  render: Renderers;
  settings: NotifySettings;
  clock: Clock;
  logger: Logger;
  /** Send spans in each refund's trace (docs/operations.md, "Tracing"); none recorded without. */
  tracing?: Tracing;
}

export function requireEmail(email: EmailPort | undefined): EmailPort {
  if (!email) throw new NotSentError('email is off (no SMTP_URL)', 'EMAIL_OFF');
  return email;
}

export function requireSlack(slack: SlackPort): SlackPort {
  if (slack.mode === 'off') throw new NotSentError('Slack is off (no SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL)', 'SLACK_OFF');
  return slack;
}
