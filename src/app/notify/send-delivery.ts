/**
 * Sends one delivery: the customer's email, an ops message about one refund (or its group), or
 * ready-made content (the outage notices). Throws a RefundNotifierError that the dispatcher
 * retries, falls back from (fall-back.ts) or gives up on.
 */
import { InDoubtError, LeaseLostError, NotSentError } from '../../domain/errors.js';
import type { NotificationSubject } from '../../domain/routing.js';
import type { OpsTemplate, OutboxEntry, TraceSpan } from '../ports.js';
import { noTracing } from '../tracing.js';
import { createGroupJoiner } from './join-group.js';
import { deliveryOf, isMessagePayload, requireEmail, requireSlack, type DeliveryPayload, type MessagePayload, type NotifierDeps } from './vocabulary.js';

export type DeliverySender = (entry: OutboxEntry) => Promise<void>;

export function createDeliverySender(deps: NotifierDeps): DeliverySender {
  const { store, render } = deps;
  const joinGroup = createGroupJoiner(deps);

  async function sendMessage({ message, receiver }: MessagePayload, entry: OutboxEntry): Promise<void> {
    if (receiver.type === 'slack') {
      await requireSlack(deps.slack).postMessage({ channel: receiver.channel, ...render.slackContent(message) });
      return;
    }
    await requireEmail(deps.email).send({ to: [...receiver.to], ...render.emailContent(message), messageId: render.messageId(entry.dedupeKey) });
  }

  async function sendCustomerEmail(entry: OutboxEntry, subject: NotificationSubject): Promise<void> {
    const to = subject.customer?.email;
    if (!to) throw new NotSentError('no customer address', 'NO_ADDRESS');
    if (entry.sendingAt !== undefined) {
      // A previous attempt was cut off mid-send (the process died): the SMTP server may have
      // taken it. Resending could email the customer twice, which we promise never to do.
      throw new InDoubtError(
        `a previous send started at ${new Date(entry.sendingAt).toISOString()} never reported back; not resent so the customer is not emailed twice (retry from /admin/outbox if it did not arrive)`,
      );
    }
    const email = requireEmail(deps.email);
    const rendered = render.customerEmail(subject);
    // The mark goes first: if this process dies during the send, whoever claims the entry next
    // finds it and does not send again. It applies only under our lease; without it, the entry
    // is someone else's now and is not touched.
    if (!(await store.markOutboxSending(entry.id, deps.clock.now(), deps.owner))) {
      throw new LeaseLostError('the lease on this delivery passed to another dispatcher before the send: not sent here');
    }
    // The Message-ID is on the sender's domain: the merchant's when its brand sets the From.
    await email.send({ to, ...rendered, messageId: render.messageId(entry.dedupeKey, rendered.from) });
  }

  async function sendOpsMessage(entry: OutboxEntry, { delivery: d, subject, fallbackFrom }: DeliveryPayload): Promise<void> {
    const template = d.template as OpsTemplate;
    const note = fallbackFrom ? `Sent here instead of ${fallbackFrom.receiver}, which failed: ${fallbackFrom.error}` : undefined;
    if (d.receiver.type === 'email') {
      await requireEmail(deps.email).send({
        to: [...d.receiver.to],
        ...render.emailRefund(subject, template, d.playbook, note),
        messageId: render.messageId(entry.dedupeKey),
      });
      return;
    }
    if (d.receiver.type !== 'slack') return;
    const message = render.slackRefund(subject, template, d.playbook);
    const res = await requireSlack(deps.slack).postMessage({
      channel: d.receiver.channel,
      ...(note ? { ...message, text: `${message.text}\n_${note}_` } : message),
    });
    // A stalled refund's first message is where its reminders go (remind-stalled.ts).
    if (d.template === 'stalled' && res.ts && res.channel) {
      await store.saveThread({ refundKey: subject.refundKey, channel: d.receiver.channel, channelId: res.channel, ts: res.ts, now: deps.clock.now() });
    }
  }

  /**
   * The send span of a delivery (docs/operations.md, "Tracing"): a child of its refund's trace;
   * a message about no refund (an outage notice) starts its own.
   */
  function sendSpan(entry: OutboxEntry): TraceSpan {
    const tracing = deps.tracing ?? noTracing;
    if (isMessagePayload(entry.payload)) {
      return tracing.span(`notify ${entry.payload.receiver.type}`, undefined, { 'notify.receiver': entry.channel, 'outbox.entry': entry.dedupeKey }, 'client');
    }
    const { delivery: d, subject } = deliveryOf(entry);
    const attributes = { 'refund.id': subject.refundKey, 'notify.receiver': d.receiver.type === 'slack' ? entry.channel : d.receiver.type, 'notify.template': d.template, 'outbox.entry': entry.dedupeKey };
    return tracing.span(`notify ${d.receiver.type}`, subject.traceparent, attributes, 'client');
  }

  async function send(entry: OutboxEntry): Promise<void> {
    if (isMessagePayload(entry.payload)) return sendMessage(entry.payload, entry);
    const payload = deliveryOf(entry);
    const { delivery: d, subject, fallbackFrom } = payload;
    if (d.receiver.type === 'customer-email') return sendCustomerEmail(entry, subject);
    if (d.receiver.type === 'slack') requireSlack(deps.slack);
    // A fallback is sent on its own, never into a group of the channel it replaces.
    if (d.group && !fallbackFrom) return joinGroup(entry, { ...d, receiver: d.receiver, group: d.group }, subject);
    return sendOpsMessage(entry, payload);
  }

  return async function deliver(entry) {
    const span = sendSpan(entry);
    try {
      await send(entry);
    } catch (err) {
      span.fail(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      span.end();
    }
  };
}
