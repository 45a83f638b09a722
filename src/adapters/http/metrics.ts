import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DispatchStats } from '../../app/dispatch-outbox.js';
import type { PollStats } from '../../app/poll-refunds.js';
import type { RefundStore } from '../../app/ports.js';
import type { IngestStats } from '../kafka/ingest-consumer.js';

export interface ServiceMetrics {
  readonly registry: Registry;
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Prometheus metrics read from the components' own counters at scrape time, so the hot paths
 * only bump plain numbers and pay nothing for the metrics library.
 */
export function createServiceMetrics(sources: {
  ingest?: () => Readonly<IngestStats>;
  store?: RefundStore;
  poll?: () => Readonly<PollStats>;
  outbox?: () => Readonly<DispatchStats>;
  notify?: () => Readonly<{ received: number; rejected: number }>;
}): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'refund_notifier_process_' });

  function counters<T>(prefix: string, read: (() => T) | undefined, fields: Array<[keyof T & string, string]>) {
    if (!read) return;
    for (const [field, help] of fields) {
      new Counter({
        name: `refund_notifier_${prefix}_${snake(field)}_total`,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(Number(read()[field] ?? 0));
        },
      });
    }
  }

  counters('ingest', sources.ingest, [
    ['records', 'Records read from the refund-initiated topic'],
    ['tracked', 'Refunds newly tracked'],
    ['duplicates', 'Records for refunds already tracked (no change)'],
    ['deadLettered', 'Records sent to the dead-letter topic'],
    ['storeRetries', 'Failed store writes that were retried'],
  ]);
  counters('poll', sources.poll, [
    ['inquiries', 'Antom inquiries made'],
    ['applied', 'Inquiry results written'],
    ['superseded', 'Inquiry results dropped because the refund changed meanwhile'],
    ['errors', 'Inquiries whose result could not be recorded'],
  ]);
  counters('outbox', sources.outbox, [
    ['published', 'Outcome events acknowledged by Kafka'],
    ['delivered', 'Notifications delivered'],
    ['planned', 'Notifications planned from notices'],
    ['retried', 'Outbox sends that failed and will be retried'],
    ['dead', 'Notifications given up after their retries'],
    ['fallbacks', 'Notifications sent to the other channel after their receiver kept failing'],
    ['coalesced', 'Stale notifications folded into an outage summary'],
  ]);
  counters('notify', sources.notify, [
    ['received', 'Antom notifications with a valid signature'],
    ['rejected', 'Antom notifications refused (bad or missing signature)'],
  ]);

  const poll = sources.poll;
  if (poll) {
    new Counter({
      name: 'refund_notifier_poll_classifications_total',
      help: 'Inquiry answers by what they meant',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(poll().byKind)) this.inc({ kind }, n);
      },
    });
  }
  const store = sources.store;
  if (store) {
    new Gauge({
      name: 'refund_notifier_refunds',
      help: 'Tracked refunds by status',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await store.countByStatus();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'refund_notifier_outbox_entries',
      help: 'Outbox entries by status (dead = given up, see /admin/outbox?status=dead)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await store.countOutbox();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
  }
  return { registry };
}
