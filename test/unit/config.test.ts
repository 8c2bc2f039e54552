import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/platform/config/load-config.js';
import { envSchema } from '../../src/platform/config/schema.js';
import { REPO_ROOT } from '../helpers/control-plane-process.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

test('defaults give the SPEC ports and paths under DATA_DIR', () => {
  const cfg = parseConfig({ DATA_DIR: '/tmp/x' });
  assert.equal(cfg.ports['tenant-node'], 8000);
  assert.equal(cfg.ports['auth-gateway'], 8090);
  assert.equal(cfg.ports['query-interpreter'], 8085);
  assert.equal(cfg.paths.walDir, '/tmp/x/wal');
  assert.equal(cfg.paths.statePath, '/tmp/x/state');
  assert.equal(cfg.paths.parquetDir, '/tmp/x/parquet');
  assert.equal(cfg.paths.chdbPath, '/tmp/x/chdb');
  assert.equal(cfg.services.length, 7);
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.paths));
});

test('an invalid value names its key', () => {
  assert.match(problemsOf({ TENANT_NODE_PORT: 'eighty' }).join('\n'), /TENANT_NODE_PORT/);
  assert.match(problemsOf({ MONITORING_PORT: '70000' }).join('\n'), /MONITORING_PORT/);
  assert.match(problemsOf({ SERVICES: 'tenant-node,bogus' }).join('\n'), /SERVICES.*bogus/);
  assert.match(problemsOf({ LOG_LEVEL: 'loud' }).join('\n'), /LOG_LEVEL/);
  assert.match(problemsOf({ WAL_SKIP_CORRUPT: 'maybe' }).join('\n'), /WAL_SKIP_CORRUPT/);
  assert.match(problemsOf({ QUERY_INTERPRETER_URL: 'ftp://x' }).join('\n'), /QUERY_INTERPRETER_URL/);
});

test('production refuses the development secrets and accepts strong ones', () => {
  const weak = problemsOf({ ENVIRONMENT: 'production' }).join('\n');
  assert.match(weak, /JWT_SECRET/);
  assert.match(weak, /ADMIN_PASSWORD/);
  assert.match(problemsOf({ ENVIRONMENT: 'production', JWT_SECRET: 'short', ADMIN_PASSWORD: 'a-long-admin-password' }).join('\n'), /JWT_SECRET/);
  const ok = problemsOf({
    ENVIRONMENT: 'production',
    JWT_SECRET: 'Zq8v1Lr0pX3kT7bN5mW2cY9dH4gJ6sFa',
    ADMIN_PASSWORD: 'a-long-admin-password',
  });
  assert.deepEqual(ok, []);
});

test('SERVICES picks a subset and worker URLs split on commas', () => {
  const cfg = parseConfig({ SERVICES: 'tenant-node, monitoring', QUERY_INTERPRETER_URL: 'http://a:1, http://b:2' });
  assert.deepEqual(cfg.services, ['tenant-node', 'monitoring']);
  assert.deepEqual(cfg.workers.urls['query-interpreter'], ['http://a:1', 'http://b:2']);
  assert.deepEqual(cfg.workers.urls['tenant-node'], []);
});

test('a *_URL of a service without routes for workers is refused at start, naming the key and what to do', () => {
  for (const key of ['AUTH_GATEWAY_URL', 'TENANT_NODE_URL', 'OPERATION_NODE_URL', 'CBO_ENGINE_URL', 'METADATA_CATALOG_URL', 'MONITORING_URL']) {
    const problems = problemsOf({ [key]: 'http://127.0.0.1:9101' });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, new RegExp(`^${key}: .* has no routes that remote workers serve.*QUERY_INTERPRETER_URL`));
    // Empty is the default, not a setting.
    assert.deepEqual(problemsOf({ [key]: ' ' }), []);
  }
});

test('alert delivery: Alertmanager URLs split on commas; bad URLs and an unsigned webhook are refused without echoing them', () => {
  const cfg = parseConfig({ ALERTMANAGER_URL: 'http://am1:9093, https://ops:pw@am2/prefix/', ALERT_WEBHOOK_URL: 'https://hooks.example.com/x', ALERT_WEBHOOK_SECRET: '0123456789abcdef' });
  assert.deepEqual(cfg.monitoring.delivery.alertmanagerUrls, ['http://am1:9093', 'https://ops:pw@am2/prefix/']);
  assert.deepEqual(cfg.monitoring.delivery.webhook, { url: 'https://hooks.example.com/x', secret: '0123456789abcdef' });
  assert.equal(parseConfig({}).monitoring.delivery.webhook, undefined);
  assert.deepEqual(parseConfig({}).monitoring.delivery.alertmanagerUrls, []);

  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ ALERTMANAGER_URL: 'http://am:9093,not a url' }, /^ALERTMANAGER_URL: URL #2: not a valid URL$/],
    [{ ALERTMANAGER_URL: 'ftp://am:9093' }, /^ALERTMANAGER_URL: URL #1: must be http:\/\/ or https:\/\//],
    [{ ALERTMANAGER_URL: 'http://am:9093/?x=1' }, /^ALERTMANAGER_URL: URL #1: must not have a query or fragment$/],
    [{ ALERT_WEBHOOK_URL: 'https://hooks.example.com/T0K3N#frag', ALERT_WEBHOOK_SECRET: '0123456789abcdef' }, /^ALERT_WEBHOOK_URL: URL: must not have a query or fragment$/],
    [{ ALERT_WEBHOOK_URL: 'https://hooks.example.com/T0K3N' }, /^ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set/],
    [{ ALERT_WEBHOOK_URL: 'https://hooks.example.com/T0K3N', ALERT_WEBHOOK_SECRET: 'short' }, /^ALERT_WEBHOOK_SECRET: at least 16 characters$/],
    [{ ALERT_DELIVERY_MAX_ATTEMPTS: '0' }, /^ALERT_DELIVERY_MAX_ATTEMPTS/],
    [{ SESSION_PRUNE_INTERVAL_MS: '-5' }, /^SESSION_PRUNE_INTERVAL_MS/],
  ];
  for (const [env, pattern] of cases) {
    const problems = problemsOf(env);
    assert.equal(problems.length, 1, `${JSON.stringify(env)}: ${problems.join('; ')}`);
    assert.match(problems[0]!, pattern);
    assert.doesNotMatch(problems[0]!, /T0K3N|ops:pw|short/, 'delivery URLs and secrets are never echoed');
  }
});

test('.env.example documents every key with its default', () => {
  const text = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
  const documented = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) documented.set(m[1]!, m[2]!);
  }
  const keys = Object.keys(envSchema.shape);
  for (const key of keys) assert.ok(documented.has(key), `.env.example lacks ${key}`);
  for (const key of documented.keys()) assert.ok(keys.includes(key), `.env.example has unknown key ${key}`);
  // The documented values must parse to exactly the built-in defaults.
  const fromExample = parseConfig(Object.fromEntries(documented));
  const fromNothing = parseConfig({});
  assert.deepEqual(fromExample, fromNothing);
});

test('APPROVAL_REQUIRED_FOR names known operations only', () => {
  assert.deepEqual(parseConfig({}).auth.approvals, { requiredFor: [], ttlSeconds: 86_400 });
  const cfg = parseConfig({ APPROVAL_REQUIRED_FOR: 'tenant-delete, retention-sweep,tenant-delete', APPROVAL_TTL_SECONDS: '60' });
  assert.deepEqual(cfg.auth.approvals, { requiredFor: ['tenant-delete', 'retention-sweep'], ttlSeconds: 60 });
  assert.match(problemsOf({ APPROVAL_REQUIRED_FOR: 'tenant-delete,drop-everything' }).join('\n'), /APPROVAL_REQUIRED_FOR.*drop-everything/);
  assert.match(problemsOf({ APPROVAL_TTL_SECONDS: '0' }).join('\n'), /APPROVAL_TTL_SECONDS/);
});

test('one CLICKHOUSE_URL without a cluster is today\'s single server; no cluster slice', () => {
  const cfg = parseConfig({ CLICKHOUSE_URL: 'http://ch:8123' });
  assert.equal(cfg.clickhouse.url, 'http://ch:8123');
  assert.deepEqual(cfg.clickhouse.urls, ['http://ch:8123']);
  assert.equal(cfg.clickhouse.cluster, undefined);
  const embedded = parseConfig({});
  assert.equal(embedded.clickhouse.url, undefined);
  assert.deepEqual(embedded.clickhouse.urls, []);
  assert.equal(embedded.clickhouse.cluster, undefined);
});

test('cluster mode: several URLs, defaults for quorum, sharding key and ZooKeeper prefix', () => {
  const cfg = parseConfig({ CLICKHOUSE_CLUSTER: 'cp_cluster', CLICKHOUSE_URL: 'http://a:8123, http://b:8123,http://c:8123' });
  assert.deepEqual(cfg.clickhouse.urls, ['http://a:8123', 'http://b:8123', 'http://c:8123']);
  assert.equal(cfg.clickhouse.url, 'http://a:8123');
  assert.deepEqual(cfg.clickhouse.cluster, {
    name: 'cp_cluster',
    insertQuorum: 'majority',
    shardingKey: 'murmurHash3_32(data_id)',
    zkPathPrefix: '/clickhouse/control_plane',
    statusIntervalMs: 10_000,
  });
  const custom = parseConfig({
    CLICKHOUSE_CLUSTER: 'prod.eu-1',
    CLICKHOUSE_URL: 'https://a:8443',
    CLICKHOUSE_INSERT_QUORUM: '3',
    CLICKHOUSE_SHARDING_KEY: 'cityHash64(data_id, ts_ms % 7)',
    CLICKHOUSE_ZK_PATH_PREFIX: '/ch/cp-1',
    CLICKHOUSE_STATUS_INTERVAL_MS: '2500',
  });
  assert.deepEqual(custom.clickhouse.cluster, { name: 'prod.eu-1', insertQuorum: 3, shardingKey: 'cityHash64(data_id, ts_ms % 7)', zkPathPrefix: '/ch/cp-1', statusIntervalMs: 2500 });
});

test('cluster keys: bad combinations fail at start with the key named', () => {
  assert.match(problemsOf({ CLICKHOUSE_CLUSTER: 'c' }).join('\n'), /CLICKHOUSE_CLUSTER: cluster mode needs CLICKHOUSE_URL/);
  assert.match(problemsOf({ CLICKHOUSE_URL: 'http://a:1,http://b:1' }).join('\n'), /CLICKHOUSE_URL: names 2 servers.*CLICKHOUSE_CLUSTER/);
  for (const key of ['CLICKHOUSE_INSERT_QUORUM', 'CLICKHOUSE_SHARDING_KEY', 'CLICKHOUSE_ZK_PATH_PREFIX']) {
    const value = key === 'CLICKHOUSE_INSERT_QUORUM' ? '2' : key === 'CLICKHOUSE_SHARDING_KEY' ? 'rand()' : '/x';
    assert.match(problemsOf({ CLICKHOUSE_URL: 'http://a:1', [key]: value }).join('\n'), new RegExp(`${key}: only applies in cluster mode`));
  }
  const cluster = { CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_URL: 'http://a:1' };
  assert.match(problemsOf({ ...cluster, CLICKHOUSE_URL: 'http://a:1,http://a:1' }).join('\n'), /CLICKHOUSE_URL.*same server twice/);
  assert.match(problemsOf({ ...cluster, CLICKHOUSE_URL: 'http://a:1,tcp://b:9000' }).join('\n'), /CLICKHOUSE_URL.*tcp:\/\/b:9000/);
  assert.match(problemsOf({ ...cluster, CLICKHOUSE_CLUSTER: 'bad name' }).join('\n'), /CLICKHOUSE_CLUSTER/);
  for (const q of ['0', '-1', '1.5', 'two', '65']) {
    assert.match(problemsOf({ ...cluster, CLICKHOUSE_INSERT_QUORUM: q }).join('\n'), /CLICKHOUSE_INSERT_QUORUM/, q);
  }
  for (const key of ["data_id'); DROP TABLE x --", 'f(data_id', 'f(data_id))(', 'a;b', 'x -- c', '`x`']) {
    assert.match(problemsOf({ ...cluster, CLICKHOUSE_SHARDING_KEY: key }).join('\n'), /CLICKHOUSE_SHARDING_KEY/, key);
  }
  for (const prefix of ['relative/path', '/a/../b', '/a/', '/a b', "/a'b", '/.']) {
    assert.match(problemsOf({ ...cluster, CLICKHOUSE_ZK_PATH_PREFIX: prefix }).join('\n'), /CLICKHOUSE_ZK_PATH_PREFIX/, prefix);
  }
  assert.deepEqual(problemsOf({ ...cluster, CLICKHOUSE_INSERT_QUORUM: '1' }), []);
});
