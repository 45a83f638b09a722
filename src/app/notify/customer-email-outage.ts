import type { Logger } from 'pino';
import { isInDoubt, isRetriable } from '../../domain/errors.js';
import { customerEmailOutageContent, customerEmailRecoveredContent } from '../../domain/notification-content.js';
import type { OpsReceiver } from '../../domain/routing.js';
import type { DeliveryWatch } from '../dispatch-outbox.js';
import type { ChannelOutage, Clock, OutboxEntry, OutboxEntryInput, RefundStore } from '../ports.js';
import { CUSTOMER_CHANNEL, messageEntry, type MessagePayload } from './vocabulary.js';

/**
 * An outage of the customers' mail server, as operations hear of it (docs/notifications.md,
 * "Outages"): once when it has lasted NOTIFY_FALLBACK_AFTER — how many emails wait, since when —
 * and once when emails flow again. In between, nothing is lost and nobody is flooded: each email
 * is retried on its own backoff until CUSTOMER_EMAIL_GIVE_UP_AFTER.
 *
 * The state lives in the store (channel_outages), so a restart or a second instance neither
 * repeats nor loses a notice: opening, announcing and closing are each a guarded write that one
 * caller wins, and each notice is written to the outbox in the same transaction as its step.
 *
 *   first temporary failure ──► open (since = now)
 *   check(), outage older than NOTIFY_FALLBACK_AFTER ──► announce: "customer emails are delayed"
 *   first email that goes out ──► close; "flowing again" if it was announced; every waiting
 *                                 email is made due now instead of at the end of its backoff
 */
export interface CustomerEmailOutage extends DeliveryWatch {
  /** Announces an outage that has lasted long enough (run every few seconds by the scheduler). */
  check(): Promise<void>;
}

export function createCustomerEmailOutage(deps: {
  store: RefundStore;
  clock: Clock;
  logger: Logger;
  /** Who hears of it: the escalation channel, or the escalation email list without Slack. */
  receiver: OpsReceiver | undefined;
  announceAfterMs: number;
  giveUpAfterMs: number;
}): CustomerEmailOutage {
  const { store, clock } = deps;
  const log = deps.logger.child({ component: 'customer-email-outage' });
  // Whether an outage may be open (here or on another instance): while it is, each email that goes
  // out checks the store. Unknown at start, so the first one looks.
  let maybeOpen = true;
  // When this instance last wrote the outage: during an outage every failed email (a whole lane
  // of them per pass) would otherwise upsert the same row; once every 10 s keeps the last error
  // fresh enough to read.
  let lastWrite = Number.NEGATIVE_INFINITY;
  const REWRITE_AFTER_MS = 10_000;

  const notice = (kind: 'delayed' | 'recovered', outage: ChannelOutage, message: MessagePayload['message'], now: number): OutboxEntryInput[] =>
    deps.receiver ? [messageEntry(`outage:${CUSTOMER_CHANNEL}:${outage.since}:${kind}`, deps.receiver, message, now)] : [];

  return {
    async failed(entry: OutboxEntry, err: unknown) {
      // Only a failure of the mail server counts: a refused address (5xx) or an email in doubt
      // says nothing about whether emails flow.
      if (entry.channel !== CUSTOMER_CHANNEL || !isRetriable(err) || isInDoubt(err)) return;
      const now = clock.now();
      if (maybeOpen && now - lastWrite < REWRITE_AFTER_MS) return;
      const message = err instanceof Error ? err.message : String(err);
      await store.openOutage(CUSTOMER_CHANNEL, now, message);
      lastWrite = now;
      maybeOpen = true;
    },

    async delivered(entry: OutboxEntry) {
      if (entry.channel !== CUSTOMER_CHANNEL || !maybeOpen) return;
      const outage = await store.getOutage(CUSTOMER_CHANNEL);
      if (!outage) {
        maybeOpen = false;
        return;
      }
      const now = clock.now();
      const waiting = (await store.countWaiting(CUSTOMER_CHANNEL)).pending;
      const entries = outage.announcedAt === undefined ? [] : notice('recovered', outage, customerEmailRecoveredContent({ since: outage.since, until: now, waiting }), now);
      lastWrite = Number.NEGATIVE_INFINITY;
      if (await store.closeOutage(CUSTOMER_CHANNEL, outage.since, entries, now)) {
        const hurried = await store.hurryChannel(CUSTOMER_CHANNEL, now);
        log.info({ since: new Date(outage.since).toISOString(), announced: outage.announcedAt !== undefined, hurried }, 'customer emails flow again');
      }
      maybeOpen = false;
    },

    async check() {
      const outage = await store.getOutage(CUSTOMER_CHANNEL);
      if (!outage) return;
      maybeOpen = true;
      const now = clock.now();
      if (outage.announcedAt !== undefined || now - outage.since < deps.announceAfterMs) return;
      const waiting = (await store.countWaiting(CUSTOMER_CHANNEL)).pending;
      const content = customerEmailOutageContent({
        since: outage.since,
        now,
        waiting,
        lastError: outage.lastError,
        giveUpAfterMs: deps.giveUpAfterMs,
      });
      if (await store.announceOutage(CUSTOMER_CHANNEL, outage.since, now, notice('delayed', outage, content, now))) {
        log.error({ since: new Date(outage.since).toISOString(), waiting, lastError: outage.lastError }, 'customer emails are delayed: operations told');
      }
    },
  };
}
