/**
 * The alert rules (deploy/prometheus/alerts.yaml) fire when they should and stay quiet when they
 * should, under Prometheus' own rule evaluation: `promtool test rules` over series written as a
 * cluster of two instances would export them. Skipped where promtool is not installed (Debian's
 * `prometheus` package has it). Annotations are left out here (promtool compares them verbatim);
 * `promtool check rules` in dashboard-and-alerts.test.ts parses their templates.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertRules } from '../support/promql.js';

const promtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Scenario {
  alert: string;
  /** What it shows (promtool prints it on failure). */
  name: string;
  /** Series in promtool's notation, one sample a minute: `0+1x30` counts up by 1 for 30 minutes. */
  series: Record<string, string>;
  /** Minutes at which the alert must be firing (for `job`), or must not. */
  firing?: number[];
  quiet?: number[];
  job?: string;
}

/** `metric{…}` for instance `i` of the deployment `job` in namespace payments. */
const on = (metric: string, labels: string, i = 0, job = 'rn') => `${metric}{namespace="payments",job="${job}",instance="10.0.0.${i}:8081"${labels ? `,${labels}` : ''}}`;

const scenarios: Scenario[] = [
  {
    alert: 'RefundNotifierRefundsStalled',
    name: 'a refund stalls at minute 11: firing after 5 minutes, for the hour',
    series: { [on('refund_notifier_refunds_stalled_total', '')]: '0x10 1x90', [on('refund_notifier_refunds_stalled_total', '', 1)]: '0x100' },
    quiet: [9, 14],
    firing: [17, 60],
  },
  {
    alert: 'RefundNotifierRefundsStalled',
    name: 'the stall an hour ago is over',
    series: { [on('refund_notifier_refunds_stalled_total', '')]: '0x10 1x90' },
    quiet: [80],
  },
  {
    alert: 'RefundNotifierRefundsGivenUp',
    name: 'polling given up on one refund',
    series: { [on('refund_notifier_refunds_given_up_total', '')]: '0x10 1x60' },
    quiet: [9],
    firing: [20],
  },
  {
    alert: 'RefundNotifierOutboxDead',
    name: 'a delivery given up on another instance',
    series: { [on('refund_notifier_outbox_dead_total', '')]: '0x60', [on('refund_notifier_outbox_dead_total', '', 1)]: '0x10 1x50' },
    quiet: [9],
    firing: [20],
  },
  {
    alert: 'RefundNotifierOutboxBehind',
    name: 'an entry overdue by more than 5 minutes, seen by both instances',
    series: { [on('refund_notifier_outbox_overdue_seconds', '')]: '0x5 400+60x30', [on('refund_notifier_outbox_overdue_seconds', '', 1)]: '0x5 400+60x30' },
    quiet: [5, 9],
    firing: [12, 30],
  },
  {
    alert: 'RefundNotifierOutboxSendsFailing',
    name: 'sends failing every minute',
    series: { [on('refund_notifier_outbox_retried_total', '')]: '0+3x40' },
    quiet: [10],
    firing: [20],
  },
  {
    alert: 'RefundNotifierOutboxSendsFailing',
    name: 'a burst of failures that passed',
    series: { [on('refund_notifier_outbox_retried_total', '')]: '0x5 12x40' },
    quiet: [8, 20, 30],
  },
  {
    alert: 'RefundNotifierCustomerEmailsDelayed',
    name: 'the mail server failing since minute 1',
    series: { [on('refund_notifier_customer_email_outage_seconds', '')]: '0 60+60x30', [on('refund_notifier_customer_email_outage_seconds', '', 1)]: '0 60+60x30' },
    quiet: [14],
    firing: [18],
  },
  {
    alert: 'RefundNotifierAntomErrorRatioHigh',
    name: 'half the answers are retries, at 2 answers a second',
    series: { [on('refund_notifier_poll_classifications_total', 'kind="pending"')]: '0+60x40', [on('refund_notifier_poll_classifications_total', 'kind="retry"')]: '0+60x40' },
    quiet: [5],
    firing: [25],
  },
  {
    alert: 'RefundNotifierAntomErrorRatioHigh',
    name: 'half the answers are retries, but only 2 a minute',
    series: { [on('refund_notifier_poll_classifications_total', 'kind="pending"')]: '0+1x40', [on('refund_notifier_poll_classifications_total', 'kind="retry"')]: '0+1x40' },
    quiet: [25, 35],
  },
  {
    alert: 'RefundNotifierAntomErrorRatioHigh',
    name: 'a few retries among many answers',
    series: {
      [on('refund_notifier_poll_classifications_total', 'kind="pending"')]: '0+600x40',
      [on('refund_notifier_poll_classifications_total', 'kind="integration-fault"')]: '0+60x40',
    },
    quiet: [25, 35],
  },
  {
    alert: 'RefundNotifierAntomTrafficLimited',
    name: 'traffic limits every minute',
    series: { [on('refund_notifier_poll_traffic_limited_total', '')]: '0+1x40' },
    quiet: [10],
    firing: [20],
  },
  {
    alert: 'RefundNotifierAntomTrafficLimited',
    name: 'one traffic limit',
    series: { [on('refund_notifier_poll_traffic_limited_total', '')]: '0x5 1x40' },
    quiet: [10, 20],
  },
  {
    alert: 'RefundNotifierIngestDeadLetters',
    name: 'two records dead-lettered at minute 6',
    series: { [on('refund_notifier_ingest_dead_lettered_total', '')]: '0x5 2x40' },
    quiet: [4],
    firing: [10],
  },
  {
    alert: 'RefundNotifierConsumerLag',
    name: '1,600 records behind over two partitions, both instances reporting the whole group',
    series: {
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="0"')]: '800x30',
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="1"')]: '800x30',
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="0"', 1)]: '800x30',
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="1"', 1)]: '800x30',
    },
    quiet: [10],
    firing: [20],
  },
  {
    alert: 'RefundNotifierConsumerLag',
    name: '900 behind, reported by two instances: not counted twice',
    series: {
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="0"')]: '600x30',
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="1"')]: '300x30',
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="0"', 1)]: '600x30',
      [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="1"', 1)]: '300x30',
    },
    quiet: [20, 30],
  },
  {
    alert: 'RefundNotifierIngestStuck',
    name: 'records wait and none is read',
    series: { [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="0"')]: '5x40', [on('refund_notifier_ingest_records_total', '')]: '100x40' },
    quiet: [5],
    firing: [25],
  },
  {
    alert: 'RefundNotifierIngestStuck',
    name: 'records wait and are being read',
    series: { [on('refund_notifier_ingest_consumer_lag_messages', 'topic="in",partition="0"')]: '5x40', [on('refund_notifier_ingest_records_total', '')]: '100+10x40' },
    quiet: [25, 35],
  },
  {
    alert: 'RefundNotifierSlowInitiatedToFinal',
    name: 'every refund took between one and two hours',
    series: {
      [on('refund_notifier_refund_initiated_to_final_seconds_bucket', 'outcome="completed",detected_by="poll",le="3600"')]: '0x100',
      [on('refund_notifier_refund_initiated_to_final_seconds_bucket', 'outcome="completed",detected_by="poll",le="7200"')]: '0+1x100',
      [on('refund_notifier_refund_initiated_to_final_seconds_bucket', 'outcome="completed",detected_by="poll",le="+Inf"')]: '0+1x100',
    },
    quiet: [20],
    firing: [45, 90],
  },
  {
    alert: 'RefundNotifierSlowInitiatedToFinal',
    name: 'every refund took under a minute',
    series: {
      [on('refund_notifier_refund_initiated_to_final_seconds_bucket', 'outcome="completed",detected_by="poll",le="60"')]: '0+1x100',
      [on('refund_notifier_refund_initiated_to_final_seconds_bucket', 'outcome="completed",detected_by="poll",le="+Inf"')]: '0+1x100',
    },
    quiet: [45, 90],
  },
  {
    alert: 'RefundNotifierOutcomeEventsSlow',
    name: 'events a few minutes late',
    series: {
      [on('refund_notifier_outcome_event_delay_seconds_bucket', 'topic="refunds.completed",le="60"')]: '0x40',
      [on('refund_notifier_outcome_event_delay_seconds_bucket', 'topic="refunds.completed",le="300"')]: '0+5x40',
      [on('refund_notifier_outcome_event_delay_seconds_bucket', 'topic="refunds.completed",le="+Inf"')]: '0+5x40',
    },
    quiet: [5],
    firing: [25],
  },
  {
    alert: 'RefundNotifierOutcomeEventsSlow',
    name: 'events in milliseconds',
    series: {
      [on('refund_notifier_outcome_event_delay_seconds_bucket', 'topic="refunds.completed",le="0.05"')]: '0+5x40',
      [on('refund_notifier_outcome_event_delay_seconds_bucket', 'topic="refunds.completed",le="+Inf"')]: '0+5x40',
    },
    quiet: [25],
  },
];

describe.skipIf(!promtool)('the alert rules under promtool', () => {
  const rules = alertRules();

  it('every rule has a scenario where it fires and one where it stays quiet', () => {
    for (const rule of rules) {
      expect(scenarios.some((s) => s.alert === rule.alert && (s.firing?.length ?? 0) > 0), `${rule.alert} fires`).toBe(true);
      expect(scenarios.some((s) => s.alert === rule.alert && (s.quiet?.length ?? 0) > 0), `${rule.alert} stays quiet`).toBe(true);
    }
  });

  it('fire when they should, one alert per deployment, and stay quiet otherwise', () => {
    const severity = new Map(rules.map((r) => [r.alert, r.labels!.severity!]));
    const tests = scenarios.map((s) => ({
      name: `${s.alert}: ${s.name}`,
      interval: '1m',
      input_series: Object.entries(s.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        ...(s.quiet ?? []).map((m) => ({ eval_time: `${m}m`, alertname: s.alert, exp_alerts: [] })),
        ...(s.firing ?? []).map((m) => ({
          eval_time: `${m}m`,
          alertname: s.alert,
          exp_alerts: [{ exp_labels: { severity: severity.get(s.alert), namespace: 'payments', job: s.job ?? 'rn' } }],
        })),
      ],
    }));
    const dir = mkdtempSync(join(tmpdir(), 'alert-rules-'));
    try {
      const bare = rules.map(({ annotations: _a, ...rule }) => rule);
      writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: [{ name: 'refund-notifier', rules: bare }] }));
      writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
      try {
        execFileSync('promtool', ['test', 'rules', join(dir, 'tests.yaml')], { encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        throw new Error(`promtool test rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
