// The alert rules as a Prometheus rule file (GET /alerts/rules.yml), for
// operators who scrape /metrics with their own Prometheus: each expression kind
// becomes the PromQL that computes the same number over the same window.
//   value     agg(m{…})
//   rate      sum(rate(m{…}[w]))
//   quantile  histogram_quantile(q, sum by (le) (rate(m_bucket{…}[w])))
//   count     count(m{…} > above < below) or on() (0 * count(m{…}))   (0, not "no data", when none match)
//   ratio     N / (D != 0)   or, with `by`, max(N by (…) / (D by (…) != 0))
// A rule whose label regexes use what Prometheus' RE2 lacks (lookaround,
// backreferences) is left out with a comment saying why, so the file always
// passes `promtool check rules`.
import { alertLabels, type AlertRule } from './alert-rules.js';
import { DEFAULT_WINDOW_SEC, type MetricExpr } from './metric-expression.js';
import type { LabelMatchers } from './metric-snapshot.js';

export const RULE_GROUP_NAME = 'storage-control-plane';

type Leaf = Extract<MetricExpr, { kind: 'value' | 'rate' }>;

/** A Prometheus duration: whole seconds as `Ns`, else milliseconds. */
export function promDuration(ms: number): string {
  const rounded = Math.max(0, Math.round(ms));
  return rounded % 1000 === 0 ? `${rounded / 1000}s` : `${rounded}ms`;
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}

/** Go string literal (JSON's escapes are a subset Go and PromQL accept). */
const quote = (s: string) => JSON.stringify(s);

/** Regex features JavaScript has and RE2 (Prometheus) has not. */
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k<|\(\?<[A-Za-z]/;

function unsupportedRegex(matchers: LabelMatchers | undefined): string | undefined {
  for (const [label, m] of Object.entries(matchers ?? {})) {
    const pattern = typeof m === 'string' ? m : m.not;
    if (NOT_RE2.test(pattern)) return `label ${label}: /${pattern}/ uses lookaround or backreferences, which PromQL (RE2) does not support`;
  }
  return undefined;
}

export function selector(metric: string, matchers: LabelMatchers | undefined): string {
  const parts = Object.entries(matchers ?? {}).map(([label, m]) => {
    if (typeof m !== 'string') return `${label}!~${quote(m.not)}`;
    // Plain text needs no regex; it reads better and lets Prometheus use its index.
    return /^[A-Za-z0-9_:/ -]*$/.test(m) ? `${label}=${quote(m)}` : `${label}=~${quote(m)}`;
  });
  return parts.length === 0 ? metric : `${metric}{${parts.join(',')}}`;
}

const window = (sec: number | undefined) => `[${promDuration((sec ?? DEFAULT_WINDOW_SEC) * 1000)}]`;

function leaf(expr: Leaf, by?: string[]): string {
  const grouping = by?.length ? ` by (${by.join(', ')}) ` : '';
  if (expr.kind === 'rate') return `sum${grouping}(rate(${selector(expr.metric, expr.labels)}${window(expr.windowSec)}))`;
  return `${expr.agg ?? 'sum'}${grouping}(${selector(expr.metric, expr.labels)})`;
}

/** The PromQL of an expression: the same number our evaluator computes (an empty result where it says "no data"). */
export function promqlOf(expr: MetricExpr): string {
  switch (expr.kind) {
    case 'value':
    case 'rate':
      return leaf(expr);
    case 'quantile':
      return `histogram_quantile(${num(expr.q)}, sum by (le) (rate(${selector(`${expr.metric}_bucket`, expr.labels)}${window(expr.windowSec)})))`;
    case 'count': {
      const sel = selector(expr.metric, expr.labels);
      const filters = `${expr.above !== undefined ? ` > ${num(expr.above)}` : ''}${expr.below !== undefined ? ` < ${num(expr.below)}` : ''}`;
      return `(count(${sel}${filters}) or on() (0 * count(${sel})))`;
    }
    case 'ratio': {
      if (expr.by?.length) return `max(${leaf(expr.numerator, expr.by)} / (${leaf(expr.denominator, expr.by)} != 0))`;
      return `(${leaf(expr.numerator)} / (${leaf(expr.denominator)} != 0))`;
    }
  }
}

function unsupported(expr: MetricExpr): string | undefined {
  if (expr.kind === 'ratio') return unsupported(expr.numerator) ?? unsupported(expr.denominator);
  return unsupportedRegex(expr.labels);
}

/** The rule file, in YAML (every scalar double-quoted, so no value can change its structure). */
export function prometheusRuleFile(rules: readonly AlertRule[], opts: { evalIntervalMs: number }): string {
  const body: string[] = [];
  let exported = 0;
  for (const rule of rules) {
    const why = unsupported(rule.expr);
    if (why) {
      body.push(`      # ${rule.name} is not exported: ${why.replace(/[\r\n]+/g, ' ')}`);
      continue;
    }
    exported++;
    // alertname is the rule's name in Prometheus; everything else is sent as a label, as we send it.
    const { alertname: _alertname, ...labels } = alertLabels(rule);
    body.push(
      `      - alert: ${quote(rule.name)}`,
      `        expr: ${quote(`${promqlOf(rule.expr)} ${rule.op} ${num(rule.threshold)}`)}`,
      `        for: ${quote(promDuration(rule.forMs))}`,
      '        labels:',
      ...Object.entries(labels).map(([k, v]) => `          ${k}: ${quote(v)}`),
      '        annotations:',
      `          summary: ${quote(rule.summary || rule.name)}`,
      `          description: ${quote(`${rule.name}: value {{ $value }}, fires when ${rule.op} ${num(rule.threshold)}`)}`,
      `          value: ${quote('{{ $value }}')}`,
      `          threshold: ${quote(num(rule.threshold))}`,
    );
  }
  return [
    '# Alert rules of the storage control plane (defaults and ALERT_RULES_FILE), as Prometheus rules.',
    '# Use with a scrape job for GET /metrics of the monitoring service; check with `promtool check rules`.',
    'groups:',
    `  - name: ${quote(RULE_GROUP_NAME)}`,
    `    interval: ${quote(promDuration(opts.evalIntervalMs))}`,
    exported === 0 ? '    rules: []' : '    rules:',
    ...body,
    '',
  ].join('\n');
}
