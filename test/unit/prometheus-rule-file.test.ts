// The rules as a Prometheus rule file: the PromQL of each expression kind,
// `promtool check rules` on defaults plus a rule of every kind, and
// `promtool test rules` showing the exported PromQL fires (and stays quiet)
// on the same inputs our own evaluator does.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadAlertRules, type AlertRule } from '../../src/monitoring/alert-rules.js';
import { prometheusRuleFile, promDuration, promqlOf } from '../../src/monitoring/prometheus-rule-file.js';
import { parseConfig } from '../../src/platform/config/load-config.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

function needPromtool(t: TestContext): string | undefined {
  if (PROMTOOL) return PROMTOOL;
  console.log('# skipping: promtool not installed (Debian package prometheus)');
  t.skip('promtool not installed (Debian package prometheus)');
  return undefined;
}

const EVERY_KIND = [
  { name: 'wal_lag', threshold: 5 },
  { name: 'acme_ingest_rate', expr: { kind: 'rate', metric: 'ingest_rows_total', labels: { tenant: 'acme' }, windowSec: 2.5 }, op: '>', threshold: 10, labels: { team: 'data' } },
  { name: 'slow_queries', severity: 'critical', expr: { kind: 'quantile', metric: 'query_duration_seconds', q: 0.99, windowSec: 300 }, op: '>', threshold: 2 },
  { name: 'stuck_workers', expr: { kind: 'count', metric: 'worker_circuit_state', labels: { service: 'tenant-node|cbo-engine' }, above: 0.5, below: 1.5 }, op: '>=', threshold: 1 },
  { name: 'avg_lag', expr: { kind: 'value', metric: 'applier_lag_seconds', agg: 'avg' }, op: '>', threshold: 1e-7 },
  { name: 'lookahead', expr: { kind: 'value', metric: 'x', labels: { route: '(?!/a$).*' } }, op: '>', threshold: 0 },
];

function rulesWith(overrides: unknown[], env: Record<string, string> = {}): AlertRule[] {
  const dir = makeTempDir('rule-file');
  try {
    const file = path.join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify(overrides));
    return loadAlertRules(parseConfig({ ALERT_RULES_FILE: file, ...env }).monitoring.alerts);
  } finally {
    removeTempDir(dir);
  }
}

test('each expression kind has its PromQL', () => {
  const byName = new Map(rulesWith(EVERY_KIND).map((r) => [r.name, r]));
  assert.equal(promqlOf(byName.get('wal_lag')!.expr), 'sum(applier_lag_wal_records)');
  assert.equal(promqlOf(byName.get('acme_ingest_rate')!.expr), 'sum(rate(ingest_rows_total{tenant="acme"}[2500ms]))');
  assert.equal(
    promqlOf(byName.get('slow_queries')!.expr),
    'histogram_quantile(0.99, sum by (le) (rate(query_duration_seconds_bucket[300s])))',
  );
  assert.equal(
    promqlOf(byName.get('stuck_workers')!.expr),
    '(count(worker_circuit_state{service=~"tenant-node|cbo-engine"} > 0.5 < 1.5) or on() (0 * count(worker_circuit_state{service=~"tenant-node|cbo-engine"})))',
  );
  assert.equal(promqlOf(byName.get('avg_lag')!.expr), 'avg(applier_lag_seconds)');
  assert.equal(
    promqlOf(byName.get('http_5xx_ratio')!.expr),
    '(sum(rate(http_requests_total{status=~"5..",route!~"/ready|/health",code!~"not_fresh"}[60s])) / (sum(rate(http_requests_total{route!~"/ready|/health"}[60s])) != 0))',
  );
  assert.equal(
    promqlOf(byName.get('worker_down')!.expr),
    'max(sum by (service, worker) (rate(worker_health_checks_total{outcome="failed"}[30s])) / (sum by (service, worker) (rate(worker_health_checks_total[30s])) != 0))',
  );
  assert.equal(promDuration(0), '0s');
  assert.equal(promDuration(800), '800ms');
  assert.equal(promDuration(90_000), '90s');
});

test('labels: severity, service, tenant where the rule is about one, the rule’s own; a lookaround rule is left out, saying why', () => {
  const text = prometheusRuleFile(rulesWith(EVERY_KIND), { evalIntervalMs: 5000 });
  const block = text.slice(text.indexOf('- alert: "acme_ingest_rate"'), text.indexOf('- alert: "slow_queries"'));
  assert.match(block, /severity: "warning"/);
  assert.match(block, /tenant: "acme"/);
  assert.match(block, /service: "control-plane"/);
  assert.match(block, /team: "data"/);
  assert.doesNotMatch(text, /alert: "lookahead"/);
  assert.match(text, /# lookahead is not exported: label route: .*lookaround/);
  assert.match(text, /interval: "5s"/);
});

test('promtool check rules accepts the defaults and a rule of every kind', (t) => {
  const promtool = needPromtool(t);
  if (!promtool) return;
  const dir = makeTempDir('rule-file');
  try {
    const files: Array<[string, AlertRule[]]> = [
      ['defaults.yml', loadAlertRules(parseConfig({}).monitoring.alerts)],
      ['every-kind.yml', rulesWith(EVERY_KIND)],
      ['none.yml', rulesWith(['wal_lag', 'applier_lag', 'applier_stalled', 'http_5xx_ratio', 'worker_down', 'circuit_breaker_open', 'disk_free_low'].map((n) => ({ name: n, enabled: false })))],
    ];
    for (const [name, rules] of files) {
      const file = path.join(dir, name);
      writeFileSync(file, prometheusRuleFile(rules, { evalIntervalMs: 200 }));
      const check: SpawnSyncReturns<string> = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${name}: ${check.stdout}${check.stderr}`);
    }
  } finally {
    removeTempDir(dir);
  }
});

test('promtool test rules: the exported PromQL fires and stays quiet where our evaluator does', (t) => {
  const promtool = needPromtool(t);
  if (!promtool) return;
  const dir = makeTempDir('rule-file');
  try {
    const rules = loadAlertRules(parseConfig({ ALERT_FOR_MS: '60000', ALERT_WAL_LAG_RECORDS: '1000' }).monitoring.alerts);
    writeFileSync(path.join(dir, 'rules.yml'), prometheusRuleFile(rules, { evalIntervalMs: 60_000 }));
    const annotations = (name: string, value: string, op: string, threshold: string, summary: string) => ({
      summary,
      description: `${name}: value ${value}, fires when ${op} ${threshold}`,
      value,
      threshold,
    });
    const summary = (name: string) => rules.find((r) => r.name === name)!.summary;
    const tests = [
      {
        // WAL lag over the threshold for the `for` time fires; a minute in, it is only pending.
        interval: '1m',
        input_series: [{ series: 'applier_lag_wal_records', values: '0 5000 5000 5000' }],
        alert_rule_test: [
          { eval_time: '1m', alertname: 'wal_lag', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'wal_lag',
            exp_alerts: [{ exp_labels: { severity: 'warning', service: 'tenant-node' }, exp_annotations: annotations('wal_lag', '5000', '>', '1000', summary('wal_lag')) }],
          },
        ],
      },
      {
        // /ready answering 503 by the hundred is not an error ratio, nor are queries told to retry
        // while the applier catches up (not_fresh); /data failing half the time is.
        interval: '1m',
        input_series: [
          { series: 'http_requests_total{route="/ready",status="503"}', values: '0+600x10' },
          { series: 'http_requests_total{route="/query/execute",status="503",code="not_fresh"}', values: '0+600x4 2400x5' },
          { series: 'http_requests_total{route="/data",status="201"}', values: '0+60x10' },
          { series: 'http_requests_total{route="/query",status="500"}', values: '0x4 0+60x5' },
          { series: 'http_requests_total{route="/query",status="200"}', values: '0x4 0x5' },
        ],
        alert_rule_test: [
          { eval_time: '4m', alertname: 'http_5xx_ratio', exp_alerts: [] },
          {
            eval_time: '8m',
            alertname: 'http_5xx_ratio',
            exp_alerts: [{ exp_labels: { severity: 'warning', service: 'control-plane' }, exp_annotations: annotations('http_5xx_ratio', '0.5', '>', '0.05', summary('http_5xx_ratio')) }],
          },
        ],
      },
      {
        // One open breaker fires; closed and half-open ones do not count.
        interval: '1m',
        input_series: [
          { series: 'worker_circuit_state{service="tenant-node",worker="w1"}', values: '0 0 2 2 2 2' },
          { series: 'worker_circuit_state{service="tenant-node",worker="w2"}', values: '1 1 1 1 1 1' },
        ],
        alert_rule_test: [
          { eval_time: '1m', alertname: 'circuit_breaker_open', exp_alerts: [] },
          {
            eval_time: '4m',
            alertname: 'circuit_breaker_open',
            exp_alerts: [{ exp_labels: { severity: 'warning', service: 'remote-workers' }, exp_annotations: annotations('circuit_breaker_open', '1', '>', '0', summary('circuit_breaker_open')) }],
          },
        ],
      },
    ];
    writeFileSync(path.join(dir, 'test.yml'), JSON.stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests }));
    const r = spawnSync(promtool, ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool test rules:\n${r.stdout}${r.stderr}`);
  } finally {
    removeTempDir(dir);
  }
});
