/**
 * The shipped Grafana dashboard and Prometheus alert rules (deploy/grafana/, deploy/prometheus/;
 * docs/operations.md, "Dashboards and alerts"): they parse, each rule carries what an on-call person
 * needs and a runbook section that exists, and every metric they use is one the service declares and
 * the docs list. test/integration/metrics-contract.test.ts checks the names against a running
 * service's /metrics. Where promtool is installed, it checks every expression too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createObservations } from '../../src/app/observations.js';
import { createServiceMetrics } from '../../src/adapters/http/metrics.js';
import { DASHBOARD_FILE, RULES_FILE, alertRules, dashboardExpressions, declares, metricNames, readExposition, usedMetricNames, type Exposition } from '../support/promql.js';
import { createMemoryStore } from '../support/fakes.js';

const OPERATIONS_DOC = join(import.meta.dirname, '..', '..', 'docs', 'operations.md');
const RUNBOOK = 'https://github.com/your-org/refund-notifier/blob/main/docs/operations.md#';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function headingAnchors(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchorOf(m[1]!.replace(/`/g, ''))));
}

const promtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** promtool's verdict on a rules file; throws with its output when it refuses it. */
function promtoolCheck(rulesYaml: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'rules-'));
  try {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, rulesYaml);
    execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8', stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('metricNames: the metric names a PromQL expression selects', () => {
  it.each([
    ['sum by (namespace, job) (increase(refund_notifier_refunds_stalled_total[1h])) > 0', ['refund_notifier_refunds_stalled_total']],
    ['histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket{job=~"$job"}[$__rate_interval])))', ['x_seconds_bucket']],
    ['a / b{kind=~"retry|integration-fault"} and c offset 1h > 0.2 unless on (job) d', ['a', 'b', 'c', 'd']],
    ['max(up) > 1e3 or vector(0)', ['up']],
    ['sum(rate(m_total[5m])) without (instance) / ignoring (le) group_left (x) n', ['m_total', 'n']],
    ['label_replace(k, "dst", "$1", "src", "(.*)")', ['k']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe('the alert rules (deploy/prometheus/alerts.yaml)', () => {
  const rules = alertRules();

  it('each has a unique name, an expression, a for:, a severity, a summary, a description and a runbook section that exists', () => {
    expect(rules.length).toBeGreaterThan(0);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    const anchors = headingAnchors(readFileSync(OPERATIONS_DOC, 'utf8'));
    for (const rule of rules) {
      const at = `${rule.alert}: `;
      expect(rule.expr?.trim(), `${at}expr`).toBeTruthy();
      expect(rule.for, `${at}for`).toMatch(/^\d+[smhd]$/);
      expect(['warning', 'critical'], `${at}severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.trim(), `${at}summary`).toBeTruthy();
      expect(rule.annotations?.description?.trim(), `${at}description`).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? '';
      expect(url.startsWith(RUNBOOK), `${at}runbook_url ${url}`).toBe(true);
      const anchor = url.slice(RUNBOOK.length);
      expect(anchors.has(anchor), `${at}docs/operations.md has no heading with the anchor #${anchor}`).toBe(true);
    }
  });

  it('alert on what the issue names: stalled, outbox dead or delayed, customer emails, Antom errors and traffic limits, dead letters, lag, slow to final', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'RefundNotifierRefundsStalled',
        'RefundNotifierOutboxDead',
        'RefundNotifierOutboxBehind',
        'RefundNotifierOutboxSendsFailing',
        'RefundNotifierCustomerEmailsDelayed',
        'RefundNotifierAntomErrorRatioHigh',
        'RefundNotifierAntomTrafficLimited',
        'RefundNotifierIngestDeadLetters',
        'RefundNotifierConsumerLag',
        'RefundNotifierSlowInitiatedToFinal',
      ]),
    );
  });

  it.skipIf(!promtool)('promtool accepts the file', () => {
    promtoolCheck(readFileSync(RULES_FILE, 'utf8'));
  });
});

describe('the dashboard (deploy/grafana/refund-notifier.json)', () => {
  type Target = { refId: string; expr: string; datasource?: { uid?: string } };
  type Panel = { id: number; type: string; title: string; datasource?: { uid?: string }; gridPos: { x: number; w: number }; targets?: Target[] };
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: Array<{ name: string; type: string; query: unknown }> } };
  const graphs = dashboard.panels.filter((p) => p.type !== 'row');

  it('reads from a data source chosen on import or by provisioning, never a fixed one', () => {
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    for (const panel of graphs) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, `${panel.title} ${target.refId}`).toBe('${datasource}');
    }
  });

  it('has unique panel ids, panels within the 24-column grid, and an expression for every target', () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    for (const panel of graphs) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(new Set(panel.targets!.map((t) => t.refId)).size, panel.title).toBe(panel.targets!.length);
      for (const t of panel.targets!) expect(t.expr.trim(), `${panel.title} ${t.refId}`).toBeTruthy();
    }
  });

  it('shows what the issue names', () => {
    const titles = graphs.map((p) => p.title).join('\n');
    for (const shown of ['Refunds by status', 'Stalled', 'Dead deliveries', 'overdue', 'Customer emails delayed', 'Error ratio and traffic limits', 'Inquiry latency, p50 and p99', 'Dead-lettered', 'Consumer lag', 'Initiated → final, p50 and p99', 'Final → event published']) {
      expect(titles).toContain(shown);
    }
  });

  it.skipIf(!promtool)('promtool accepts every expression (Grafana variables given values)', () => {
    const exprs = dashboardExpressions().map((e) => e.replace(/\$__rate_interval/g, '5m').replace(/\$\{?job\}?/g, '.*'));
    const rules = exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr }));
    promtoolCheck(stringify({ groups: [{ name: 'dashboard', rules }] }));
  });
});

describe('the metrics the dashboard and the rules use, and the docs', () => {
  const used = usedMetricNames();
  const doc = readFileSync(OPERATIONS_DOC, 'utf8');

  /** What /metrics declares with every source given. */
  async function declared(): Promise<Exposition> {
    const store = await createMemoryStore();
    try {
      const { registry } = createServiceMetrics({
        store,
        ingest: () => ({}) as never,
        poll: () => ({ byKind: {} }) as never,
        outbox: () => ({}) as never,
        notify: () => ({ received: 0, rejected: 0 }),
        observations: createObservations(),
        lag: async () => [],
      });
      return readExposition(await registry.metrics());
    } finally {
      await store.close();
    }
  }

  it('every metric they use is declared by /metrics', async () => {
    const exposition = await declared();
    const undeclared = [...used].filter(([name]) => !declares(exposition, name)).map(([name, where]) => `${name} (${where.join(', ')})`);
    expect(undeclared).toEqual([]);
  });

  it('every metric /metrics declares (but the process metrics) is listed in docs/operations.md', async () => {
    const names = [...(await declared()).types.keys()].filter((name) => !name.startsWith('refund_notifier_process_'));
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });
});
