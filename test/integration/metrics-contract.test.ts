import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import { until } from '../support/kafka.js';
import { exports, readExposition, sumOf, usedMetricNames } from '../support/promql.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';

/**
 * The metrics contract: the service, started as in production against the real broker and the
 * Antom sandbox, tracks refunds until they are final and publishes their events; then its /metrics
 * (on the admin listener) must export every metric the shipped dashboard and alert rules use
 * (deploy/grafana/refund-notifier.json, deploy/prometheus/alerts.yaml), with samples, and the new
 * histograms must agree with the counters beside them.
 */
describe('metrics contract: /metrics exports what the dashboard and the alert rules use', () => {
  let sandbox: AntomSandbox;
  let service: Service;
  let adminUrl: string;

  const refunds = [
    { refundId: 'MC-OK', scenario: {} },
    { refundId: 'MC-PENDING-ONCE', scenario: { pendingInquiries: 1 } },
    { refundId: 'MC-FAIL', scenario: { final: 'FAIL' as const, failCode: 'PROCESS_FAIL' } },
    { refundId: 'MC-TRAFFIC-LIMIT', scenario: { faults: [{ kind: 'traffic-limit' as const, inquiries: [1] }] } },
  ];

  beforeAll(async () => {
    sandbox = await testSandbox();
    const env = isolatedEnv('metrics', {
      ...sandbox.serviceEnv('v2'),
      POLL_FIRST_DELAY: '100ms',
      POLL_MAX_INTERVAL: '1s',
      ANTOM_TIMEOUT: '2s',
      ANTOM_SLOWDOWN: '1s',
    });
    const config = configFrom(env);
    // Two partitions: the lag is reported per partition.
    await createServiceTopics(config, 2);
    service = inProcessService(config);
    ({ adminUrl } = await service.start());
    sandbox.createRefunds(refunds.map((r) => ({ refundId: r.refundId, refundRequestId: `RQ-${r.refundId}`, paymentId: `P-${r.refundId}`, notify: false, ...r.scenario })));
    await produce(
      env.KAFKA_BROKERS!,
      config.values.TOPIC_REFUND_INITIATED,
      refunds.map((r, i) => refundRecord(i, { refundId: r.refundId, refundRequestId: `RQ-${r.refundId}`, paymentId: `P-${r.refundId}` })),
    );
    await until(
      async () => {
        const counts = await service.store.countByStatus();
        return counts.completed === 3 && counts.failed === 1 && service.dispatcher.stats.published === 4;
      },
      { timeoutMs: 40_000, message: 'four refunds final and their four outcome events acknowledged' },
    );
  });

  afterAll(async () => {
    await service?.stop();
    await sandbox?.close();
  });

  const scrape = async () => (await fetch(`${adminUrl}/metrics`)).text();

  it('exports, with samples, every metric name the dashboard and the alert rules use', async () => {
    const used = usedMetricNames();
    expect(used.size).toBeGreaterThan(20);
    // The consumer lag is read from the broker on a scrape: it may take a scrape or two to appear.
    await until(
      async () => {
        const exposition = readExposition(await scrape());
        const missing = [...used].filter(([name]) => !exports(exposition, name)).map(([name, where]) => `${name} (${where.join(', ')})`);
        if (missing.length > 0) throw new Error(`not exported: ${missing.join('; ')}`);
        return true;
      },
      { timeoutMs: 15_000, message: 'every metric the dashboard and the rules use is exported' },
    );
  });

  it('counts in the histograms what the counters beside them count', async () => {
    const text = await scrape();
    expect(sumOf(text, 'refund_notifier_refund_initiated_to_final_seconds_count', ['outcome="completed"'])).toBe(3);
    expect(sumOf(text, 'refund_notifier_refund_initiated_to_final_seconds_count', ['outcome="failed"'])).toBe(1);
    expect(sumOf(text, 'refund_notifier_outcome_event_delay_seconds_count')).toBe(sumOf(text, 'refund_notifier_outbox_published_total'));
    expect(sumOf(text, 'refund_notifier_antom_inquiry_duration_seconds_count')).toBe(sumOf(text, 'refund_notifier_poll_inquiries_total'));
    expect(sumOf(text, 'refund_notifier_antom_inquiry_duration_seconds_count', ['kind="retry"'])).toBeGreaterThanOrEqual(1);
    expect(sumOf(text, 'refund_notifier_poll_traffic_limited_total')).toBeGreaterThanOrEqual(1);
    // Every observation falls under +Inf.
    expect(sumOf(text, 'refund_notifier_outcome_event_delay_seconds_bucket', ['le="+Inf"'])).toBe(4);
  });

  it('reports the lag of both input partitions, back to 0 once everything is committed', async () => {
    await until(
      async () => {
        const text = await scrape();
        const partitions = [...text.matchAll(/^refund_notifier_ingest_consumer_lag_messages\{[^}]*partition="(\d)"[^}]*\} (\d+)$/gm)];
        return partitions.length === 2 && partitions.every((p) => p[2] === '0');
      },
      { timeoutMs: 30_000, message: 'lag 0 on partitions 0 and 1' },
    );
  });
});
