import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestStats } from '../kafka/ingest-consumer.js';
import type { RefundStore } from '../../app/ports.js';

export interface ServiceMetrics {
  readonly registry: Registry;
}

/**
 * Prometheus metrics read from the components' own counters at scrape time, so the hot paths
 * only bump plain numbers and pay nothing for the metrics library.
 */
export function createServiceMetrics(sources: {
  ingest?: () => Readonly<IngestStats>;
  store?: RefundStore;
}): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'refund_notifier_process_' });

  const ingest = sources.ingest;
  if (ingest) {
    const counters: Array<[keyof IngestStats, string]> = [
      ['records', 'Records read from the refund-initiated topic'],
      ['tracked', 'Refunds newly tracked'],
      ['duplicates', 'Records for refunds already tracked (no change)'],
      ['deadLettered', 'Records sent to the dead-letter topic'],
      ['storeRetries', 'Failed store writes that were retried'],
    ];
    for (const [field, help] of counters) {
      new Counter({
        name: `refund_notifier_ingest_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(Number(ingest()[field] ?? 0));
        },
      });
    }
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
  }
  return { registry };
}
