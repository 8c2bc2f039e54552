// Cluster mode under failures, end to end: the real control plane in cluster
// mode over ZooKeeper and 2 shards x 3 replicas of clickhouse-server 18.16 on
// loopback (test/helpers/clickhouse-cluster.ts), clients ingesting over HTTP
// and retrying until acknowledged. Each test kills something under load and
// then reads the tables straight from the nodes: every acknowledged record
// exactly once through the Distributed table, and every live replica of a
// shard holding the same rows. The tests share one cluster and run in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLUSTER_TEST_DIAG, startClickHouseCluster, type RunningClickHouseCluster } from '../helpers/clickhouse-cluster.js';
import { checkExactlyOnce, IngestLoad, metricValues, NodeClients, waitApplied } from '../helpers/cluster-checks.js';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { quoteIdentifier } from '../../src/storage/clickhouse/sql-literal.js';
import { clickhouseLocation, clusterLocalLocation } from '../../src/storage/physical-names.js';
import { eventually } from '../helpers/eventually.js';

const started = await startClickHouseCluster({ shards: 2, replicas: 3, name: 'cp_cluster', subsets: [{ name: 'cp_pair', replicas: 2 }] });
const skip = 'skipped' in started ? started.skipped : false;
if (skip) console.log(`# cluster failover tests skipped: ${skip}`);

const BASE = 'control_plane';
const TENANT = 'acme';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Fast status reads and alert evaluation, so a test sees an alert within seconds.
const PLANE_ENV = {
  CLICKHOUSE_STATUS_INTERVAL_MS: '1000',
  ALERT_FOR_MS: '0',
  ALERT_EVAL_INTERVAL_MS: '500',
  MONITORING_SAMPLE_INTERVAL_MS: '500',
  APPLIER_INTERVAL_MS: '50',
  SERVICES: 'tenant-node,operation-node,monitoring',
  LOG_LEVEL: 'warn',
};

describe('cluster mode: ingest under replica, ZooKeeper and column failures', { skip, timeout: 900_000 }, () => {
  let cluster: RunningClickHouseCluster;
  let nodes: NodeClients;
  let plane: RunningPlane;
  let tenant: Record<string, string>;
  let admin: Record<string, string>;
  // Every id acknowledged into acme/events over all tests: each check covers them all.
  const acked = new Set<string>();

  const metrics = async () => (await fetch(plane.url('monitoring', '/metrics'), { headers: admin })).text();
  const firing = async () =>
    ((await (await fetch(plane.url('monitoring', '/alerts?state=firing'), { headers: admin })).json()) as { alerts: Array<{ name: string }> }).alerts.map((a) => a.name);
  const nodeStatus = async () =>
    (await (await fetch(plane.url('operation-node', '/nodes/status'), { headers: admin })).json()) as {
      cluster: { shards: Array<{ shard: number; replicas: Array<{ replica: number; up: boolean; inRotation?: boolean; columnsBehind: number; readOnly: boolean }> }> };
    };
  const replicaStatus = async (shard: number, replica: number) => (await nodeStatus()).cluster.shards.find((s) => s.shard === shard)!.replicas.find((r) => r.replica === replica)!;
  const ingest = (prefix: string, extra: Partial<ConstructorParameters<typeof IngestLoad>[0]> = {}) =>
    new IngestLoad({ url: () => plane.url('tenant-node', '/data'), headers: tenant, clients: 6, prefix, ...extra });
  const collect = (load: IngestLoad) => {
    for (const id of load.acked) acked.add(id);
  };
  // What the plane did about stray parts so far (a figure, not a condition: whether an insert loses ZooKeeper mid-commit is chance).
  let logsSeen = 0;
  const strayPartsRemoved = async () => {
    const removed = Object.fromEntries(metricValues(await metrics(), 'clickhouse_stray_parts_removed_total'));
    if (CLUSTER_TEST_DIAG) {
      const logs = plane.logs();
      for (const l of logs.slice(Math.min(logsSeen, logs.length)).split('\n')) if (l.includes('stray parts')) console.log(`# ${l.replace(/"stack":"[^"]*",?/g, '').slice(0, 1500)}`);
      logsSeen = logs.length;
    }
    return removed;
  };
  const check = async () => {
    await waitApplied(plane, tenant);
    const r = await checkExactlyOnce(nodes, cluster, { base: BASE, tenant: TENANT, table: 'events', acked });
    console.log(`# ${JSON.stringify(r)} stray parts removed: ${JSON.stringify(await strayPartsRemoved())}`);
    assert.equal(r.lost, 0, 'acknowledged records lost');
    assert.equal(r.duplicated, 0, 'records stored twice');
    return r;
  };

  before(async () => {
    cluster = started as RunningClickHouseCluster;
    nodes = new NodeClients(cluster);
    plane = await startPlane({ env: { ...PLANE_ENV, CLICKHOUSE_URL: cluster.urls.join(','), CLICKHOUSE_CLUSTER: 'cp_cluster' } });
    tenant = (await tenantKeyHeaders(plane, TENANT)).headers;
    admin = await adminHeaders(plane);
  });
  after(async () => {
    await plane?.cleanup();
    await nodes?.close();
    await cluster?.stop();
  });

  it('refuses to start when CLICKHOUSE_URL does not list every node of the cluster, or names a cluster the servers do not have', async () => {
    const refused = async (env: Record<string, string>) => {
      const p = await startPlane({ env: { ...PLANE_ENV, ...env }, waitForReady: false });
      const code = await p.exited;
      await p.cleanup();
      assert.equal(code, 1, p.logs().slice(-3000));
      return p.logs();
    };
    assert.match(await refused({ CLICKHOUSE_URL: cluster.urls.slice(0, 5).join(','), CLICKHOUSE_CLUSTER: 'cp_cluster' }), /boot failed: CLICKHOUSE_URL names 5 server\(s\), but cluster cp_cluster has 6 replica\(s\)/);
    assert.match(await refused({ CLICKHOUSE_URL: cluster.urls.join(','), CLICKHOUSE_CLUSTER: 'no_such_cluster' }), /boot failed: CLICKHOUSE_CLUSTER=no_such_cluster: the servers have no such cluster in remote_servers \(they have: cp_cluster, cp_pair\)/);
  });

  it('a replica killed and restarted under load: no batch fails beyond the inserts’ own retries, nothing lost or doubled, replicas converge', async () => {
    const load = ingest('kill');
    load.start();
    await sleep(3000);
    await cluster.killReplica(1, 2);
    await eventually('the status page sees the replica down', () => replicaStatus(1, 2), (r) => !r.up && r.inRotation === false);
    const snapshot = await eventually(
      'the dashboard lists every replica, this one down',
      async () => (await (await fetch(plane.url('monitoring', '/dashboard/api/snapshot'), { headers: admin })).json()) as { cluster: { shards: Array<{ replicas: Array<{ replica: number; shard: number; up: boolean }> }> } | null },
      (s) => s.cluster?.shards.flatMap((x) => x.replicas).some((r) => r.shard === 1 && r.replica === 2 && !r.up) === true,
    );
    assert.equal(snapshot.cluster!.shards.flatMap((x) => x.replicas).length, 6);
    await eventually('the replica-down alert', firing, (a) => a.includes('clickhouse_replica_down'));
    await sleep(4000);
    await cluster.restartReplica(1, 2);
    await sleep(3000);
    await load.stop();
    collect(load);
    assert.ok(load.acked.size > 500, `enough load to mean something (acknowledged ${load.acked.size})`);
    await check();
    // The inserts' retries absorbed the loss: the applier never saw a failed batch.
    const failedBatches = plane.logs().split('\n').filter((l) => l.includes('applier batch failed'));
    assert.equal([...metricValues(await metrics(), 'applier_failures_total').values()].reduce((a, b) => a + b, 0), 0, `failed applier batches:\n${failedBatches.join('\n').slice(0, 3000)}`);
    await eventually('the restarted replica is back in rotation', () => replicaStatus(1, 2), (r) => r.up && r.inRotation === true);
  });

  it('ZooKeeper killed and restarted under load: ingest keeps acknowledging, inserts resume once it returns, nothing lost or doubled', async () => {
    const load = ingest('zk');
    load.start();
    await sleep(2000);
    await cluster.killZooKeeper();
    const down = Date.now();
    const alerts = await eventually('an alert on ZooKeeper or read-only replicas', firing, (a) => a.includes('clickhouse_zookeeper_unreachable'), 30_000);
    console.log(`# firing without ZooKeeper: ${alerts.join(', ')}`);
    await sleep(Math.max(0, 10_000 - (Date.now() - down)));
    const duringOutage = load.acksBetween(down, Date.now());
    assert.ok(duringOutage > 100, `ingest acknowledged ${duringOutage} records while ZooKeeper was down`);
    await cluster.restartZooKeeper();
    const back = Date.now();
    await sleep(2000);
    await load.stop();
    collect(load);
    const caughtUp = await waitApplied(plane, tenant);
    console.log(`# the applier caught up ${Date.now() - back} ms after ZooKeeper returned (${caughtUp} ms after the load stopped)`);
    await check();
    await eventually('the ZooKeeper alert resolves', firing, (a) => !a.includes('clickhouse_zookeeper_unreachable'), 30_000);
  });

  it('a new promoted column while a replica is down reaches every node; a replica more than 2 columns behind raises the alert and returns with force_restore_data', async () => {
    await cluster.killReplica(2, 3);
    const colored = ingest('color', { clients: 2, payload: (id, n) => ({ n, amount: n % 97, color: n % 2 ? 'red' : 'blue' }) });
    colored.start();
    await sleep(2000);
    await colored.stop();
    collect(colored);
    await waitApplied(plane, tenant);
    const red = [...colored.acked].length;
    const q = await fetch(plane.url('operation-node', '/query/execute'), {
      method: 'POST',
      headers: { ...tenant, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: "SELECT count() AS n FROM events WHERE color IN ('red', 'blue')" }),
    });
    assert.equal(q.status, 200, await q.clone().text());
    assert.equal(((await q.json()) as { rows: Array<{ n: number }> }).rows[0]!.n, red);
    const plan = await fetch(plane.url('operation-node', '/query/plan'), {
      method: 'POST',
      headers: { ...tenant, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: "SELECT count() FROM events WHERE color = 'red'" }),
    });
    const shards = ((await plan.json()) as { shards: { count: number; touched: Array<{ shard: number }> } }).shards;
    assert.deepEqual(shards.touched.map((t) => t.shard), [1, 2], 'EXPLAIN names the shards a query through Distributed reads: all of them');

    // One column behind: the replica returns by itself and is brought up to date before it takes calls.
    await cluster.restartReplica(2, 3);
    await eventually('the returning replica is back in rotation', () => replicaStatus(2, 3), (r) => r.up && r.inRotation === true && r.columnsBehind === 0);
    const dist = clickhouseLocation(BASE, TENANT, 'events');
    const onReturned = await nodes.on(2, 3);
    // Sequentially consistent: until it has fetched what it missed it refuses (289) rather than answer short.
    await eventually(
      'a query naming the new column through the returned node',
      async () =>
        Number(
          (
            await onReturned.query<{ n: string }>(
              `SELECT count() AS n FROM ${quoteIdentifier(dist.database)}.${quoteIdentifier(dist.table)} WHERE color IN ('red', 'blue')`,
              { settings: { select_sequential_consistency: '1' } },
            )
          )[0]!.n,
        ),
      (n) => n === red,
    );

    // Three columns behind: 18.16 will not load its table; the alert says so.
    await cluster.killReplica(2, 3);
    const wide = ingest('wide', { clients: 2, payload: (id, n) => ({ n, c1: 'a', c2: n, c3: n % 2 === 0 }) });
    wide.start();
    await sleep(2000);
    await wide.stop();
    collect(wide);
    await waitApplied(plane, tenant);
    await eventually(
      'columns behind of the down replica',
      async () => metricValues(await metrics(), 'clickhouse_replica_columns_behind').get('{shard="2",replica="3"}'),
      (v) => v === 3,
    );
    await eventually('the columns-behind alert', firing, (a) => a.includes('clickhouse_replica_columns_behind'));
    // The operator's fix (README, Cluster mode): flags/force_restore_data, then start it.
    await cluster.restartReplica(2, 3, { forceRestoreData: true });
    await eventually('the restored replica is back in rotation', () => replicaStatus(2, 3), (r) => r.up && r.inRotation === true, 90_000);
    await eventually('the columns-behind alert resolves', firing, (a) => !a.includes('clickhouse_replica_columns_behind'));
    await check();
  });

  it('retention drops whole days on every replica (DROP PARTITION, never a mutation) and keeps the rest', async () => {
    const day = (d: string) => Date.parse(`${d}T12:00:00Z`);
    const old = ingest('old', { clients: 2, timestamp: (n) => day(['2026-01-01', '2026-01-02', '2026-01-03'][n % 3]!) });
    old.start();
    await sleep(1500);
    await old.stop();
    collect(old);
    await waitApplied(plane, tenant);
    await check();
    const dist = clickhouseLocation(BASE, TENANT, 'events');
    const first = await nodes.on(1, 1);
    const days = await first.query<{ id: string; d: string }>(
      `SELECT data_id AS id, toString(date) AS d FROM ${quoteIdentifier(dist.database)}.${quoteIdentifier(dist.table)} WHERE date < '2026-02-01'`,
    );
    const doomed = new Set(days.filter((r) => r.d < '2026-01-03').map((r) => r.id));
    assert.ok(doomed.size > 0 && doomed.size < days.length, 'rows on both sides of the cutoff');
    const local = clusterLocalLocation(BASE, TENANT, 'events');
    const localName = `${quoteIdentifier(local.database)}.${quoteIdentifier(local.table)}`;
    const res = await fetch(plane.url('tenant-node', '/data/retention/sweep'), {
      method: 'POST',
      headers: { ...admin, 'x-tenant-id': TENANT, 'content-type': 'application/json' },
      body: JSON.stringify({ before: '2026-01-03T00:00:00Z' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const swept = (await res.json()) as { rowsDeleted: number; cutoffDate: string };
    assert.equal(swept.cutoffDate, '2026-01-03');
    assert.equal(swept.rowsDeleted, doomed.size, 'the catalog counted the rows the sweep removed');
    for (const n of cluster.nodes) {
      const e = await nodes.on(n.shard, n.replica);
      await e.exec(`SYSTEM SYNC REPLICA ${localName}`);
      const [gone] = await e.query<{ n: string }>(`SELECT count() AS n FROM ${localName} WHERE date < '2026-01-03'`);
      assert.equal(Number(gone!.n), 0, `replica ${n.replicaName} still holds swept days`);
      const mutations = await e.query(`SELECT 1 FROM system.mutations WHERE database = '${local.database}' AND table = '${local.table}'`);
      assert.equal(mutations.length, 0, 'retention never runs ALTER DELETE on replicated tables');
    }
    for (const id of doomed) acked.delete(id);
    const after = await check();
    assert.ok(after.found === acked.size, 'everything else stays');
  });

  it('2 replicas and quorum 2: with one down, ingest keeps acknowledging from the WAL, and the applier catches up once it returns', async () => {
    // The first plane stops (its tables stay); a second plane uses the 2-replica cluster on the same servers.
    await plane.cleanup();
    logsSeen = 0;
    plane = await startPlane({
      env: {
        ...PLANE_ENV,
        CLICKHOUSE_URL: cluster.nodes.filter((n) => n.replica <= 2).map((n) => n.url).join(','),
        CLICKHOUSE_CLUSTER: 'cp_pair',
        CLICKHOUSE_DATABASE: 'pair',
        CLICKHOUSE_ZK_PATH_PREFIX: '/clickhouse/pair',
        CLICKHOUSE_INSERT_QUORUM: '2',
      },
    });
    tenant = (await tenantKeyHeaders(plane, TENANT)).headers;
    admin = await adminHeaders(plane);
    const load = ingest('pair');
    load.start();
    await sleep(2000);
    await cluster.killReplica(1, 2);
    const down = Date.now();
    // Shard 1 cannot reach its quorum: the applier waits, the WAL keeps acknowledging.
    await eventually(
      'the applier falling behind',
      async () => ((await (await fetch(plane.url('tenant-node', '/data/stats'), { headers: tenant })).json()) as { walLag: { records: number } }).walLag.records,
      (lag) => lag > 200,
    );
    await sleep(Math.max(0, 8000 - (Date.now() - down)));
    const duringOutage = load.acksBetween(down, Date.now());
    assert.ok(duringOutage > 100, `ingest acknowledged ${duringOutage} records while the shard could not reach its quorum`);
    await cluster.restartReplica(1, 2);
    const back = Date.now();
    await sleep(2000);
    await load.stop();
    await waitApplied(plane, tenant, 180_000);
    console.log(`# 2 replicas: caught up ${Date.now() - back} ms after the replica returned`);
    const r = await checkExactlyOnce(nodes, cluster, { base: 'pair', tenant: TENANT, table: 'events', acked: load.acked, replicas: 2 });
    console.log(`# ${JSON.stringify(r)} stray parts removed: ${JSON.stringify(await strayPartsRemoved())}`);
    assert.equal(r.lost, 0, 'acknowledged records lost');
    assert.equal(r.duplicated, 0, 'records stored twice');
  });
});
