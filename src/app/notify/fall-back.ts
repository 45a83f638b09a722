/**
 * A receiver that keeps failing (docs/notifications.md, "Delivery: the outbox, retries, fallback, outages"): an ops message that cannot
 * reach Slack goes to the escalation email list, one that cannot be emailed goes to the escalation
 * channel, and a customer email that is given up is reported to the escalation channel. The
 * dispatcher asks after every failure; undefined means "not yet, or never": retry or give up.
 */
import { LeaseLostError, NotSentError, isInDoubt, isRetriable } from '../../domain/errors.js';
import { receiverKey, type Delivery, type NotificationSubject } from '../../domain/routing.js';
import type { OutboxEntry, OutboxEntryInput } from '../ports.js';
import { deliveryEntry, deliveryOf, isMessagePayload, type NotifierDeps } from './vocabulary.js';

/** `failingSince` is when this run of failures began (now, for a first failure). */
export type FallbackPlanner = (entry: OutboxEntry, err: unknown, timing: { failingSince: number; now: number }) => OutboxEntryInput[] | undefined;

export function createFallbackPlanner(deps: Pick<NotifierDeps, 'slack' | 'email' | 'render' | 'settings'>): FallbackPlanner {
  const { settings } = deps;

  /** The report to operations of a customer email that will not be sent (or may have been). */
  function customerEmailReport(entry: OutboxEntry, d: Delivery, subject: NotificationSubject, inDoubt: boolean, error: string) {
    const delivery: Delivery = {
      receiver: { type: 'slack', channel: settings.escalationChannel },
      template: 'integration-fault',
      dedupeKey: `${d.dedupeKey}:fallback:report`,
      route: inDoubt ? 'customer-email-in-doubt' : 'customer-email-failed',
      playbook: inDoubt
        ? `The connection to the SMTP server was lost after it had received the email, before it confirmed it: it may or may not have been delivered, so it is not sent again. Look for Message-ID ${deps.render.messageId(entry.dedupeKey, deps.render.customerEmail(subject).from)} in the SMTP server's log; if it is not there, retry the delivery from /admin/outbox?status=dead.`
        : 'The customer was not told their refund completed: check the address and the SMTP server, then retry the delivery from /admin/outbox?status=dead or tell the customer another way.',
    };
    const report: NotificationSubject = { ...subject, event: 'integration.fault', reasonCode: inDoubt ? 'CUSTOMER_EMAIL_IN_DOUBT' : 'CUSTOMER_EMAIL_NOT_SENT', resultMessage: error };
    return { delivery, subject: report };
  }

  return (entry, err, { failingSince, now }) => {
    if (isMessagePayload(entry.payload)) return undefined; // outage notices are retried, then given up
    const { delivery: d, subject, fallbackFrom } = deliveryOf(entry);
    if (fallbackFrom) return undefined; // a fallback does not fall back again
    // A grouped delivery falls back with its group (flush-groups.ts), so the refund is told once
    // on each channel: the group's fallback carries it with the rest of its window.
    if (d.group) return undefined;
    if (err instanceof LeaseLostError) return undefined;
    const inDoubt = isInDoubt(err);
    // A customer email is retried until CUSTOMER_EMAIL_GIVE_UP_AFTER (a mail server retries a 4xx
    // for days; so do we); an ops message goes to the other channel after NOTIFY_FALLBACK_AFTER,
    // so a ten-second Slack blip does not turn into email.
    const patience = d.receiver.type === 'customer-email' ? settings.customerGiveUpAfterMs : settings.fallbackAfterMs;
    if (!inDoubt && isRetriable(err) && now - failingSince < patience) return undefined;
    const error = err instanceof Error ? err.message : String(err);
    const instead = (replacement: { delivery: Delivery; subject: NotificationSubject }) => [
      deliveryEntry(replacement.delivery, replacement.subject, now, { receiver: receiverKey(d.receiver), error }),
    ];
    if (d.receiver.type === 'slack' && d.template !== 'ops-line' && settings.escalationEmailTo.length > 0 && deps.email) {
      const to = [...settings.escalationEmailTo].sort();
      return instead({ delivery: { ...d, receiver: { type: 'email', to }, dedupeKey: `${d.dedupeKey}:fallback:email` }, subject });
    }
    if (d.receiver.type === 'email' && deps.slack.mode !== 'off') {
      return instead({ delivery: { ...d, receiver: { type: 'slack', channel: settings.escalationChannel }, dedupeKey: `${d.dedupeKey}:fallback:slack` }, subject });
    }
    if (d.receiver.type === 'customer-email' && deps.slack.mode !== 'off' && !(err instanceof NotSentError && err.code === 'NO_ADDRESS')) {
      return instead(customerEmailReport(entry, d, subject, inDoubt, error));
    }
    return undefined;
  };
}
