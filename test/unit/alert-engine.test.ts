// Alert state machine and the metric expressions rules are written in, against
// a real prom-client registry and hand-made snapshot histories.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AlertEngine } from '../../src/monitoring/alert-engine.js';
import type { AlertRule } from '../../src/monitoring/alert-rules.js';
import { evaluate, histogramQuantile, type SnapshotSource } from '../../src/monitoring/metric-expression.js';
import { captureSnapshot, type MetricSnapshot } from '../../src/monitoring/metric-snapshot.js';

const silent = pino({ level: 'silent' });

/** A history made of explicit snapshots, oldest first. */
function sourceOf(snaps: MetricSnapshot[]): SnapshotSource {
  return {
    latest: () => snaps[snaps.length - 1],
    atOrAfter: (t) => snaps.slice(0, -1).find((s) => s.t >= t),
  };
}

test('value, count, rate and ratio expressions read the registry', async () => {
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'h', labelNames: ['status'], registers: [registry] });
  const lag = new Gauge({ name: 'lag', help: 'h', registers: [registry] });
  const up = new Gauge({ name: 'worker_up', help: 'h', labelNames: ['worker'], registers: [registry] });
  requests.inc({ status: '200' }, 10);
  lag.set(7);
  const t0 = await captureSnapshot(registry, 1_000_000);
  requests.inc({ status: '200' }, 90);
  requests.inc({ status: '503' }, 10);
  up.set({ worker: 'a' }, 1);
  up.set({ worker: 'b' }, 0);
  const t1 = await captureSnapshot(registry, 1_010_000);
  const src = sourceOf([t0, t1]);

  assert.equal(evaluate({ kind: 'value', metric: 'lag' }, src), 7);
  assert.equal(evaluate({ kind: 'value', metric: 'missing' }, src), null, 'an absent metric is no data');
  assert.equal(evaluate({ kind: 'count', metric: 'worker_up', below: 1 }, src), 1);
  assert.equal(evaluate({ kind: 'count', metric: 'nope', below: 1 }, src), null);
  // 100 more requests in 10 s, 10 of them 5xx.
  assert.equal(evaluate({ kind: 'rate', metric: 'http_requests_total', windowSec: 60 }, src), 10);
  assert.equal(evaluate({ kind: 'rate', metric: 'http_requests_total', labels: { status: '5..' }, windowSec: 60 }, src), 1);
  const ratio = evaluate(
    {
      kind: 'ratio',
      numerator: { kind: 'rate', metric: 'http_requests_total', labels: { status: '5..' } },
      denominator: { kind: 'rate', metric: 'http_requests_total' },
    },
    src,
  );
  assert.equal(ratio, 0.1);
  assert.equal(evaluate({ kind: 'rate', metric: 'http_requests_total' }, sourceOf([t1])), null, 'one snapshot gives no rate');
});

test('a ratio by label group answers the worst group (one dead worker among healthy ones)', async () => {
  const registry = new Registry();
  const checks = new Counter({ name: 'worker_health_checks_total', help: 'h', labelNames: ['worker', 'outcome'], registers: [registry] });
  const t0 = await captureSnapshot(registry, 0);
  checks.inc({ worker: 'a', outcome: 'ok' }, 10);
  checks.inc({ worker: 'b', outcome: 'ok' }, 10);
  checks.inc({ worker: 'c.1', outcome: 'failed' }, 10);
  const t1 = await captureSnapshot(registry, 10_000);
  const expr = {
    kind: 'ratio' as const,
    numerator: { kind: 'rate' as const, metric: 'worker_health_checks_total', labels: { outcome: 'failed' } },
    denominator: { kind: 'rate' as const, metric: 'worker_health_checks_total' },
  };
  assert.ok(Math.abs(evaluate(expr, sourceOf([t0, t1]))! - 1 / 3) < 1e-9, 'summed over workers: a third');
  assert.equal(evaluate({ ...expr, by: ['worker'] }, sourceOf([t0, t1])), 1, 'worst worker: all failed');
  assert.equal(evaluate({ ...expr, by: ['worker'] }, sourceOf([t1])), null, 'no window, no data');
});

test('snapshots are copies: later increments do not rewrite history', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 'c_total', help: 'h', registers: [registry] });
  c.inc(1);
  const before = await captureSnapshot(registry, 0);
  c.inc(5);
  assert.equal(before.families.get('c_total')!.values[0]!.value, 1);
});

test('histogram quantiles interpolate within the bucket over the window', async () => {
  assert.equal(histogramQuantile(0.5, new Map([[1, 0], [2, 10], [Infinity, 10]])), 1.5);
  assert.equal(histogramQuantile(0.99, new Map([[0.1, 0], [Infinity, 4]])), 0.1, 'rank in +Inf answers the highest finite bound');
  assert.equal(histogramQuantile(0.5, new Map([[1, 0], [Infinity, 0]])), null, 'no observations, no data');

  const registry = new Registry();
  const h = new Histogram({ name: 'query_duration_seconds', help: 'h', buckets: [0.01, 0.1, 1], registers: [registry] });
  for (let i = 0; i < 100; i++) h.observe(5); // old and slow: outside the window
  const t0 = await captureSnapshot(registry, 0);
  for (let i = 0; i < 100; i++) h.observe(0.05);
  const t1 = await captureSnapshot(registry, 30_000);
  const p50 = evaluate({ kind: 'quantile', metric: 'query_duration_seconds', q: 0.5, windowSec: 60 }, sourceOf([t0, t1]));
  assert.ok(p50 !== null && p50 > 0.01 && p50 <= 0.1, `p50 ${p50} reflects only the window`);
  assert.equal(evaluate({ kind: 'quantile', metric: 'absent_seconds', q: 0.5 }, sourceOf([t0, t1])), null);
});

test('a rule goes inactive → pending → firing after forMs, and resolves when the value drops or disappears', async () => {
  const registry = new Registry();
  const lag = new Gauge({ name: 'lag', help: 'h', registers: [registry] });
  const rule: AlertRule = { name: 'lag_high', summary: 's', severity: 'warning', expr: { kind: 'value', metric: 'lag' }, op: '>', threshold: 10, forMs: 1000, labels: {} };
  const changes: string[] = [];
  const engine = new AlertEngine([rule], { logger: silent, now: 0, onChange: (r, s) => changes.push(`${r.name}:${s}`) });
  const at = async (t: number) => {
    engine.evaluate(sourceOf([await captureSnapshot(registry, t)]), t);
    return engine.list()[0]!;
  };

  lag.set(5);
  assert.equal((await at(100)).state, 'inactive');
  lag.set(50);
  const pending = await at(200);
  assert.equal(pending.state, 'pending');
  assert.equal(pending.activeAt, new Date(200).toISOString());
  assert.equal(pending.value, 50);
  assert.equal((await at(1100)).state, 'pending', 'not yet held for forMs');
  const firing = await at(1200);
  assert.equal(firing.state, 'firing');
  assert.equal(firing.since, new Date(1200).toISOString());
  assert.equal(firing.threshold, 10);
  lag.set(3);
  const resolved = await at(1300);
  assert.equal(resolved.state, 'inactive');
  assert.equal(resolved.activeAt, null);
  // A flap shorter than forMs never fires.
  lag.set(50);
  await at(1400);
  lag.set(0);
  await at(1500);
  assert.deepEqual(changes, ['lag_high:pending', 'lag_high:firing', 'lag_high:inactive', 'lag_high:pending', 'lag_high:inactive']);

  // forMs 0 fires at once; a metric that disappears means no data, so the alert resolves.
  const instant = new AlertEngine([{ ...rule, forMs: 0 }], { logger: silent });
  lag.set(99);
  instant.evaluate(sourceOf([await captureSnapshot(registry, 10)]), 10);
  assert.equal(instant.list()[0]!.state, 'firing');
  registry.removeSingleMetric('lag');
  instant.evaluate(sourceOf([await captureSnapshot(registry, 20)]), 20);
  assert.equal(instant.list()[0]!.state, 'inactive');
  assert.equal(instant.list()[0]!.value, null);
});
