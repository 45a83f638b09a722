import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { DispatchStats } from '../../app/dispatch-outbox.js';
import { CUSTOMER_CHANNEL } from '../../app/notify/vocabulary.js';
import type { DurationHistogram, Observations } from '../../app/observations.js';
import type { PollStats } from '../../app/poll-refunds.js';
import type { RefundStore } from '../../app/ports.js';
import type { PartitionLag } from '../kafka/consumer-lag.js';
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
  /** Latency histograms and what decisions did (app/observations.ts). */
  observations?: Observations;
  /** The ingest consumer group's lag per partition (adapters/kafka/consumer-lag.ts). */
  lag?: () => Promise<readonly PartitionLag[]>;
  /** Epoch ms, for the ages read from the store (default: the system clock). */
  now?: () => number;
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
    ['trafficLimited', 'Antom answers that asked us to slow down (REQUEST_TRAFFIC_EXCEED_LIMIT, HTTP 429)'],
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
  const observations = sources.observations;
  counters('refunds', observations && (() => observations.transitions), [
    ['stalled', 'Refunds that became stalled (not final after POLL_STALLED_AFTER), by this instance'],
    ['givenUp', 'Refunds whose polling was given up (POLL_GIVE_UP_AFTER), by this instance'],
  ]);
  if (observations) observationHistograms(registry, observations);
  if (sources.lag) lagGauge(registry, sources.lag);
  const store = sources.store;
  if (store) storeGauges(registry, store, sources.now ?? Date.now);
  return { registry };
}

/** Refunds and outbox entries by status, and how late the outbox and customer emails are (the store's). */
function storeGauges(registry: Registry, store: RefundStore, now: () => number): void {
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
  new Gauge({
    name: 'refund_notifier_outbox_overdue_seconds',
    help: 'How long the pending outbox entry due first has been due; 0 when none is (an entry waiting out its retry backoff is not due yet)',
    registers: [registry],
    async collect() {
      const due = await store.earliestOutboxDue();
      this.set(due === undefined ? 0 : Math.max(0, (now() - due) / 1000));
    },
  });
  new Gauge({
    name: 'refund_notifier_customer_email_outage_seconds',
    help: "How long the customers' mail server has been failing, from its first temporary failure; 0 while emails flow",
    registers: [registry],
    async collect() {
      const outage = await store.getOutage(CUSTOMER_CHANNEL);
      this.set(outage ? Math.max(0, (now() - outage.since) / 1000) : 0);
    },
  });
}

function lagGauge(registry: Registry, lag: () => Promise<readonly PartitionLag[]>): void {
  new Gauge({
    name: 'refund_notifier_ingest_consumer_lag_messages',
    help: 'Records of the input topic the consumer group has not committed past, per partition, as the broker says; absent while it cannot say',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const p of await lag()) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
    },
  });
}

function observationHistograms(registry: Registry, o: Observations): void {
  registerHistogram(registry, 'refund_notifier_antom_inquiry_duration_seconds', "Antom's inquiryRefund, asked to answered, by API flavour and by what the answer meant (kind)", o.inquiry);
  registerHistogram(
    registry,
    'refund_notifier_refund_initiated_to_final_seconds',
    "From the record's initiatedAt to the decision that made the refund final, by outcome and detected_by (poll or notify)",
    o.initiatedToFinal,
  );
  registerHistogram(
    registry,
    'refund_notifier_outcome_event_delay_seconds',
    'From the decision that queued an outcome event (final, or stalled) to Kafka acknowledging it, by topic',
    o.eventDelay,
  );
}

/**
 * A histogram the app fills with plain numbers (app/observations.ts), exported as Prometheus reads
 * one: cumulative `_bucket{le}`, `_sum` and `_count` per series. prom-client's Histogram counts only
 * its own observe() calls, so this object gives the registry what it reads of a metric: name,
 * help, type, aggregator, get() and reset() (a no-op: the app owns the numbers).
 */
function registerHistogram<L extends string>(registry: Registry, name: string, help: string, histogram: DurationHistogram<L>): void {
  type Value = { metricName: string; labels: Record<string, string | number>; value: number };
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: Value[] = [];
      for (const series of histogram.series()) {
        let cumulative = 0;
        histogram.bounds.forEach((le, i) => {
          cumulative += series.counts[i]!;
          values.push({ metricName: `${name}_bucket`, labels: { ...series.labels, le }, value: cumulative });
        });
        values.push({ metricName: `${name}_bucket`, labels: { ...series.labels, le: '+Inf' }, value: series.count });
        values.push({ metricName: `${name}_sum`, labels: { ...series.labels }, value: series.sum });
        values.push({ metricName: `${name}_count`, labels: { ...series.labels }, value: series.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Metric);
}
