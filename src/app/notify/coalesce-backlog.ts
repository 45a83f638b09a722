/**
 * After an outage, the Slack deliveries that waited longer than staleAfterMs are not replayed one
 * by one into a channel that just came back: each channel gets one summary of its backlog
 * (docs/notifications.md, "Delivery: the outbox, retries, fallback, outages"). Customer emails are never coalesced; every customer gets
 * their own email, late or not.
 *
 * The dispatcher owns the claims: it asks which of its deliveries are stale (`staleByReceiver`),
 * leases the rest of each receiver's backlog itself, and asks for one summary of the whole list
 * (`summarise`); what is not summarised it sends one by one.
 */
import type { OutageItem } from '../../domain/notification-content.js';
import type { OutboxEntry } from '../ports.js';
import { deliveryOf, isMessagePayload, type NotifierDeps } from './vocabulary.js';

// Fewer than this are simply sent: a summary of two messages helps nobody.
const MIN_TO_COALESCE = 3;

export interface BacklogSummary {
  /** The deliveries the summary stands for: marked sent when it is, failed with it when not. */
  readonly covers: readonly OutboxEntry[];
  send(): Promise<void>;
}

export interface BacklogCoalescer {
  /** Entries created before this are stale (now − staleAfterMs); undefined when Slack is off. */
  staleBefore(): number | undefined;
  /** The stale, coalescible deliveries among `entries`, by receiver (the outbox channel). */
  staleByReceiver(entries: readonly OutboxEntry[], staleBefore: number): Map<string, OutboxEntry[]>;
  /**
   * One summary for the stale deliveries to one receiver (as staleByReceiver grouped them), or
   * undefined when there are too few to summarise.
   */
  summarise(stale: readonly OutboxEntry[]): BacklogSummary | undefined;
}

export function createBacklogCoalescer(deps: Pick<NotifierDeps, 'slack' | 'render' | 'settings' | 'clock' | 'logger'>): BacklogCoalescer {
  const log = deps.logger.child({ component: 'notify-backlog' });

  const coalescible = (e: OutboxEntry, staleBefore: number): boolean => {
    if (e.kind !== 'delivery' || isMessagePayload(e.payload) || e.createdAt >= staleBefore) return false;
    const p = deliveryOf(e);
    return p.delivery.receiver.type === 'slack' && !p.delivery.group && !p.fallbackFrom;
  };

  return {
    staleBefore: () => (deps.slack.mode === 'off' ? undefined : deps.clock.now() - deps.settings.staleAfterMs),

    staleByReceiver(entries, staleBefore) {
      const stale = new Map<string, OutboxEntry[]>();
      for (const e of entries) if (coalescible(e, staleBefore)) stale.set(e.channel, [...(stale.get(e.channel) ?? []), e]);
      return stale;
    },

    summarise(list) {
      if (list.length < MIN_TO_COALESCE) return undefined;
      const now = deps.clock.now();
      const receiver = deliveryOf(list[0]!).delivery.receiver;
      if (receiver.type !== 'slack') return undefined;
      const { channel } = receiver;
      return {
        covers: list,
        async send() {
          const items: OutageItem[] = list.map((e) => {
            const { delivery, subject } = deliveryOf(e);
            return { template: delivery.template, event: subject.event, reasonCode: subject.reasonCode, refundAmount: subject.refundAmount };
          });
          const since = Math.min(...list.map((e) => e.createdAt));
          await deps.slack.postMessage({ channel, ...deps.render.slackOutage(items, { since, until: now, channel }) });
          log.warn({ channel, coalesced: list.length }, 'stale backlog coalesced into one summary');
        },
      };
    },
  };
}
