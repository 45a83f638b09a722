/**
 * The metric names the shipped Grafana dashboard and Prometheus alert rules use
 * (deploy/grafana/refund-notifier.json, deploy/prometheus/alerts.yaml), and whether a /metrics
 * text exports them: what test/unit/dashboard-and-alerts.test.ts and
 * test/integration/metrics-contract.test.ts hold the service to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const DASHBOARD_FILE = join(REPO_ROOT, 'deploy', 'grafana', 'refund-notifier.json');
export const RULES_FILE = join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.yaml');

// Words of PromQL that are not metric names where they stand bare (functions and aggregations are
// recognised by the parenthesis that follows them).
const KEYWORDS = new Set(['and', 'or', 'unless', 'atan2', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'inf', 'nan']);

/**
 * The metric names an expression selects: identifiers followed by `{`, `[` or standing bare, once
 * strings, label matchers, ranges, label lists (`by (…)`), offsets and Grafana variables are taken
 * out, less functions, aggregations and keywords.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/#[^\n]*/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\boffset\s+-?\w+/gi, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    if (bare.slice(m.index + name.length).trimStart().startsWith('(')) continue;
    if (KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** Every `expr` of the dashboard's panels (rows included) and the query of each query variable. */
export function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr?: string }>; panels?: Array<{ targets?: Array<{ expr?: string }> }> }>;
    templating?: { list: Array<{ type: string; query?: string | { query?: string } }> };
  };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr).filter((e): e is string => typeof e === 'string'));
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query?.query;
    // label_values(metric, label): the metric is what it reads.
    const metric = query?.match(/^label_values\(\s*([^,)]+)/)?.[1];
    if (metric) exprs.push(metric);
  }
  return exprs;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rules file as Prometheus loads it (groups of rules). */
export function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

/** Metric names the dashboard and the rules use, each with where it is used. */
export function usedMetricNames(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (expr: string, where: string) => {
    for (const name of metricNames(expr)) used.set(name, [...(used.get(name) ?? []), where]);
  };
  for (const expr of dashboardExpressions()) add(expr, 'dashboard');
  for (const rule of alertRules()) add(rule.expr, rule.alert);
  return used;
}

export interface Exposition {
  /** Names with at least one sample line. */
  readonly samples: ReadonlySet<string>;
  /** `# TYPE` of each declared metric. */
  readonly types: ReadonlyMap<string, string>;
}

/** Reads a Prometheus text exposition. */
export function readExposition(text: string): Exposition {
  const samples = new Set<string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = line.match(/^# TYPE (\S+) (\S+)/);
    if (type) types.set(type[1]!, type[2]!);
    else if (line !== '' && !line.startsWith('#')) samples.add(line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)![0]);
  }
  return { samples, types };
}

/** Sample lines as `name{labels}` → value. */
export function sampleValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The sum of the samples of `name` whose labels include every `label="value"` in `having`. */
export function sumOf(text: string, name: string, having: readonly string[] = []): number {
  let total = 0;
  for (const [series, value] of sampleValues(text)) {
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    if (having.every((label) => series.includes(label))) total += value;
  }
  return total;
}

const SERIES_SUFFIX = /_(bucket|sum|count)$/;

/**
 * The type of the metric a sample name belongs to: its own, or `histogram` for a `_bucket`, `_sum`
 * or `_count` series of a histogram. A histogram's own name selects nothing. (Summaries: none here.)
 */
function declaredAs(exposition: Exposition, name: string): string | undefined {
  const own = exposition.types.get(name);
  if (own !== undefined) return own === 'histogram' ? undefined : own;
  const base = name.replace(SERIES_SUFFIX, '');
  return base !== name && exposition.types.get(base) === 'histogram' ? 'histogram' : undefined;
}

/** Whether the exposition declares `name` (by `# TYPE`, directly or as a histogram's series). */
export function declares(exposition: Exposition, name: string): boolean {
  return declaredAs(exposition, name) !== undefined;
}

/** Whether the exposition declares `name` and has samples of it. */
export function exports(exposition: Exposition, name: string): boolean {
  return declares(exposition, name) && exposition.samples.has(name);
}
