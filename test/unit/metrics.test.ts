/**
 * /metrics as Prometheus reads it (src/adapters/http/metrics.ts): the app's histograms exported as
 * histograms (cumulative buckets, +Inf equal to the count), the consumer lag per partition and
 * gone when the broker cannot say, and the outbox and customer-email ages read from the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CUSTOMER_CHANNEL } from '../../src/app/notify/vocabulary.js';
import { createObservations } from '../../src/app/observations.js';
import type { RefundStore } from '../../src/app/ports.js';
import { createServiceMetrics } from '../../src/adapters/http/metrics.js';
import type { PartitionLag } from '../../src/adapters/kafka/consumer-lag.js';
import { createMemoryStore } from '../support/fakes.js';
import { sampleValues as samples } from '../support/promql.js';

describe('/metrics', () => {
  let store: RefundStore | undefined;
  afterEach(async () => store?.close());

  it('exports the histograms the app fills: cumulative buckets, +Inf, sum and count per series, and TYPE histogram', async () => {
    const observations = createObservations();
    observations.inquiry.observe({ api: 'v2', kind: 'pending' }, 0.02);
    observations.inquiry.observe({ api: 'v2', kind: 'pending' }, 0.3);
    observations.inquiry.observe({ api: 'v2', kind: 'pending' }, 45);
    observations.eventDelay.observe({ topic: 'refunds.completed' }, 0.004);
    const text = await createServiceMetrics({ observations }).registry.metrics();
    expect(text).toContain('# TYPE refund_notifier_antom_inquiry_duration_seconds histogram');
    const s = samples(text);
    const inquiry = (le: string) => s.get(`refund_notifier_antom_inquiry_duration_seconds_bucket{api="v2",kind="pending",le="${le}"}`);
    expect([inquiry('0.01'), inquiry('0.025'), inquiry('0.25'), inquiry('0.5'), inquiry('30'), inquiry('+Inf')]).toEqual([0, 1, 1, 2, 2, 3]);
    expect(s.get('refund_notifier_antom_inquiry_duration_seconds_sum{api="v2",kind="pending"}')).toBeCloseTo(45.32);
    expect(s.get('refund_notifier_antom_inquiry_duration_seconds_count{api="v2",kind="pending"}')).toBe(3);
    expect(s.get('refund_notifier_outcome_event_delay_seconds_bucket{topic="refunds.completed",le="0.005"}')).toBe(1);
    // Declared, but no series until something is observed.
    expect(text).toContain('# TYPE refund_notifier_refund_initiated_to_final_seconds histogram');
    expect([...s.keys()].some((k) => k.startsWith('refund_notifier_refund_initiated_to_final_seconds'))).toBe(false);
  });

  it('counts traffic-limit answers and the refunds decisions stalled or gave up', async () => {
    const observations = createObservations();
    observations.transitions.stalled = 3;
    observations.transitions.givenUp = 1;
    const poll = { inquiries: 5, trafficLimited: 2, byKind: { retry: 2, pending: 3 } } as never;
    const s = samples(await createServiceMetrics({ observations, poll: () => poll }).registry.metrics());
    expect(s.get('refund_notifier_poll_traffic_limited_total')).toBe(2);
    expect(s.get('refund_notifier_refunds_stalled_total')).toBe(3);
    expect(s.get('refund_notifier_refunds_given_up_total')).toBe(1);
  });

  it('reports the consumer lag per partition, and no series while the broker cannot say', async () => {
    let lags: PartitionLag[] = [
      { topic: 'refunds.initiated', partition: 0, lag: 7 },
      { topic: 'refunds.initiated', partition: 1, lag: 0 },
    ];
    const { registry } = createServiceMetrics({ lag: async () => lags });
    const s = samples(await registry.metrics());
    expect(s.get('refund_notifier_ingest_consumer_lag_messages{topic="refunds.initiated",partition="0"}')).toBe(7);
    expect(s.get('refund_notifier_ingest_consumer_lag_messages{topic="refunds.initiated",partition="1"}')).toBe(0);
    lags = [];
    expect([...samples(await registry.metrics()).keys()].filter((k) => k.startsWith('refund_notifier_ingest_consumer_lag'))).toEqual([]);
  });

  it('reads from the store how long the outbox entry due first has been due and how long customer emails have been failing', async () => {
    store = await createMemoryStore();
    let now = Date.parse('2026-12-01T10:00:00Z');
    const { registry } = createServiceMetrics({ store, now: () => now });
    let s = samples(await registry.metrics());
    expect([s.get('refund_notifier_outbox_overdue_seconds'), s.get('refund_notifier_customer_email_outage_seconds')]).toEqual([0, 0]);

    await store.enqueueOutbox('digest:2026-12-01', [{ dedupeKey: 'digest', kind: 'delivery', channel: 'slack:#refunds', payload: {}, availableAt: now - 90_000 }], now);
    await store.openOutage(CUSTOMER_CHANNEL, now - 600_000, 'SMTP 451');
    s = samples(await registry.metrics());
    expect(s.get('refund_notifier_outbox_overdue_seconds')).toBe(90);
    expect(s.get('refund_notifier_customer_email_outage_seconds')).toBe(600);
    expect(s.get('refund_notifier_outbox_entries{status="pending"}')).toBe(1);

    // Due in the future (waiting out a backoff): not overdue.
    now -= 120_000;
    s = samples(await registry.metrics());
    expect(s.get('refund_notifier_outbox_overdue_seconds')).toBe(0);
  });
});
