// Default alert rules come from config thresholds; ALERT_RULES_FILE overrides,
// disables or adds rules, and a bad file fails boot naming the problem.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { loadAlertRules } from '../../src/monitoring/alert-rules.js';
import { evaluate } from '../../src/monitoring/metric-expression.js';
import { captureSnapshot } from '../../src/monitoring/metric-snapshot.js';
import { redactEntry } from '../../src/monitoring/log-redaction.js';
import { parseConfig } from '../../src/platform/config/load-config.js';
import { ClusterMetrics } from '../../src/storage/clickhouse/cluster-metrics.js';
import type { ReplicaStatus } from '../../src/storage/clickhouse/cluster-monitor.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

test('defaults cover lag, stall, 5xx, workers, breakers, disk and the ClickHouse cluster, with thresholds from config', () => {
  const cfg = parseConfig({ ALERT_WAL_LAG_RECORDS: '42', ALERT_FOR_MS: '0', ALERT_DISK_FREE_RATIO: '0.2' });
  const rules = new Map(loadAlertRules(cfg.monitoring.alerts).map((r) => [r.name, r]));
  assert.deepEqual([...rules.keys()].sort(), [
    'applier_lag',
    'applier_stalled',
    'circuit_breaker_open',
    'clickhouse_replica_columns_behind',
    'clickhouse_replica_delay',
    'clickhouse_replica_down',
    'clickhouse_replica_readonly',
    'clickhouse_replication_queue',
    'clickhouse_zookeeper_unreachable',
    'disk_free_low',
    'http_5xx_ratio',
    'wal_lag',
    'worker_down',
  ]);
  assert.equal(rules.get('wal_lag')!.threshold, 42);
  assert.equal(rules.get('wal_lag')!.forMs, 0);
  assert.equal(rules.get('disk_free_low')!.op, '<');
  assert.equal(rules.get('disk_free_low')!.threshold, 0.2);
});

test('the 5xx rule ignores /ready answering 503 while booting and queries told to retry (not_fresh), and sees real failures', async () => {
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'h', labelNames: ['route', 'status', 'code'], registers: [registry] });
  const rule = loadAlertRules(parseConfig({}).monitoring.alerts).find((r) => r.name === 'http_5xx_ratio')!;
  requests.inc({ route: '/data', status: '201' }, 0);
  const t0 = await captureSnapshot(registry, 0);
  requests.inc({ route: '/ready', status: '503' }, 50);
  requests.inc({ route: '/data', status: '201' }, 50);
  requests.inc({ route: '/query/execute', status: '503', code: 'not_fresh' }, 50);
  const t1 = await captureSnapshot(registry, 10_000);
  const source = { latest: () => t1, atOrAfter: (t: number) => (t0.t >= t ? t0 : undefined) };
  assert.equal(evaluate(rule.expr, source), 0);
  requests.inc({ route: '/data', status: '500', code: 'internal_error' }, 100);
  const t2 = await captureSnapshot(registry, 20_000);
  const later = { latest: () => t2, atOrAfter: (t: number) => (t0.t >= t ? t0 : undefined) };
  assert.equal(evaluate(rule.expr, later), 0.5, '100 faults of 200 requests (the not_fresh answers count as requests, not as faults)');
});

test('ALERT_RULES_FILE overrides a default by name, disables one and adds another', () => {
  const dir = makeTempDir('alert-rules');
  try {
    const file = path.join(dir, 'rules.json');
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'wal_lag', threshold: 5, forMs: 100 },
        { name: 'worker_down', enabled: false },
        { name: 'slow_queries', summary: 'p99 over 2 s', severity: 'critical', expr: { kind: 'quantile', metric: 'query_duration_seconds', q: 0.99 }, op: '>', threshold: 2 },
      ]),
    );
    const cfg = parseConfig({ ALERT_RULES_FILE: file, ALERT_FOR_MS: '7000' });
    const rules = new Map(loadAlertRules(cfg.monitoring.alerts).map((r) => [r.name, r]));
    assert.equal(rules.get('wal_lag')!.threshold, 5);
    assert.equal(rules.get('wal_lag')!.forMs, 100);
    assert.equal(rules.get('wal_lag')!.expr.kind, 'value', 'unnamed fields keep the default');
    assert.ok(!rules.has('worker_down'));
    assert.equal(rules.get('slow_queries')!.forMs, 7000, 'a new rule takes ALERT_FOR_MS by default');

    writeFileSync(file, JSON.stringify([{ name: 'new_rule', threshold: 1 }]));
    assert.throws(() => loadAlertRules(cfg.monitoring.alerts), /ALERT_RULES_FILE .*new_rule.*expr/);
    writeFileSync(file, '{not json');
    assert.throws(() => loadAlertRules(cfg.monitoring.alerts), /ALERT_RULES_FILE/);
  } finally {
    removeTempDir(dir);
  }
});

test('log entries are scrubbed of secret keys and bearer credentials at any depth', () => {
  const entry = {
    level: 30,
    msg: 'upstream said Bearer abc.def.ghi and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    password: 'p',
    nested: { refreshToken: 'r', headers: { authorization: 'Basic Zm9vOmJhcg==', 'x-api-key': 'k' }, ok: 'fine' },
    url: 'http://user:pw@host/x',
    tokenType: 'Bearer',
  };
  const out = JSON.stringify(redactEntry(entry));
  for (const secret of ['abc.def.ghi', 'eyJhbGci', '"p"', '"r"', 'Zm9vOmJhcg', '"k"', ':pw@']) assert.ok(!out.includes(secret), `${secret} redacted in ${out}`);
  assert.match(out, /"ok":"fine"/);
  assert.match(out, /"tokenType":"Bearer"/);
});

test('cluster rules: inactive without a cluster, and fire on a replica down, read-only, behind on columns or without ZooKeeper', async () => {
  const cfg = parseConfig({ ALERT_REPLICA_QUEUE_SIZE: '10', ALERT_REPLICA_DELAY_SECONDS: '30' });
  const rules = new Map(loadAlertRules(cfg.monitoring.alerts).map((r) => [r.name, r]));
  const value = (name: string, snapshot: Awaited<ReturnType<typeof captureSnapshot>>) => evaluate(rules.get(name)!.expr, { latest: () => snapshot, atOrAfter: () => undefined });
  const names = ['clickhouse_replica_down', 'clickhouse_replica_readonly', 'clickhouse_replication_queue', 'clickhouse_replica_delay', 'clickhouse_zookeeper_unreachable', 'clickhouse_replica_columns_behind'];
  const none = await captureSnapshot(new Registry(), 0);
  for (const n of names) assert.equal(value(n, none), null, `${n} has no data without a cluster`);

  const registry = new Registry();
  const metrics = new ClusterMetrics(registry);
  const replica = (replica: number, over: Partial<ReplicaStatus> = {}): ReplicaStatus => ({
    shard: 1, replica, host: '127.0.0.1', port: 9000 + replica, up: true, zooKeeper: 'ok', tables: 2, readOnly: false, queueSize: 0, absoluteDelaySeconds: 0, columnsBehind: 0, ...over,
  });
  const status = (replicas: ReplicaStatus[], zooKeeper: 'ok' | 'unreachable' = 'ok') => ({ cluster: 'c', insertQuorum: 2, checkedAt: '', zooKeeper, shards: [{ shard: 1, replicas }] });
  metrics.set(status([replica(1), replica(2), replica(3)]));
  const healthy = await captureSnapshot(registry, 0);
  const fires = (n: string, s: typeof healthy) => {
    const r = rules.get(n)!;
    const v = value(n, s);
    return v !== null && (r.op === '>' ? v > r.threshold : v < r.threshold);
  };
  for (const n of names) assert.equal(fires(n, healthy), false, `${n} quiet on a healthy cluster`);

  metrics.set(status([replica(1), replica(2, { up: false, zooKeeper: 'unknown', columnsBehind: 3 }), replica(3, { readOnly: true, queueSize: 11, absoluteDelaySeconds: 31 })]));
  const troubled = await captureSnapshot(registry, 1000);
  for (const n of names.filter((x) => x !== 'clickhouse_zookeeper_unreachable')) assert.equal(fires(n, troubled), true, `${n} fires`);
  metrics.set(status([replica(1, { zooKeeper: 'unreachable' })], 'unreachable'));
  assert.equal(fires('clickhouse_zookeeper_unreachable', await captureSnapshot(registry, 2000)), true);
});
