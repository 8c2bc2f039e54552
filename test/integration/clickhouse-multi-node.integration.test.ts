// The cluster-mode client against a real ClickHouse 18.16 cluster (ZooKeeper +
// 2 shards x 3 replicas, test/helpers/clickhouse-cluster.ts): the multi-node
// engine (nodes in turn, a dead node skipped and quarantined, per-node
// statements) and the topology reader (shards and replicas from
// system.clusters, per-replica health through remote()).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError, ErrorCode } from '../../src/platform/errors.js';
import { isNodeUnreachable } from '../../src/storage/clickhouse/cluster-errors.js';
import { readClusterTopology, readReplicaHealth, resolveInsertQuorum, type ReplicaHealth } from '../../src/storage/clickhouse/cluster-topology.js';
import { MultiNodeEngine } from '../../src/storage/clickhouse/multi-node-engine.js';
import { startClickHouseCluster, type RunningClickHouseCluster } from '../helpers/clickhouse-cluster.js';
import { eventually } from '../helpers/eventually.js';

const started = await startClickHouseCluster({ shards: 2, replicas: 3, name: 'cp_cluster' });
const skip = 'skipped' in started ? started.skipped : false;
if (skip) console.log(`# multi-node engine tests skipped: ${skip}`);

const DB = 'cp_multi';
const LOCAL_DB = 'cp_multi_local';

describe('cluster-mode client on a 2 x 3 ClickHouse 18.16 cluster', { skip, timeout: 120_000 }, () => {
  let cluster: RunningClickHouseCluster;
  let engine: MultiNodeEngine;
  const replicaMacro = async () => (await engine.query<{ r: string }>("SELECT substitution AS r FROM system.macros WHERE macro = 'replica'"))[0]!.r;
  const healthOf = (all: ReplicaHealth[], shard: number, replica: number) => all.find((h) => h.shard === shard && h.replica === replica)!;

  before(async () => {
    cluster = started as RunningClickHouseCluster;
    engine = new MultiNodeEngine({ urls: cluster.urls, database: DB, requestTimeoutMs: 30_000, quarantineMs: 1500 });
    await engine.open();
  });
  after(async () => {
    await engine?.close();
    await cluster?.stop();
  });

  it('open() creates the base database on every node', async () => {
    const outcomes = await engine.onEveryNode((e) => e.query<{ n: string }>(`SELECT name AS n FROM system.databases WHERE name = '${DB}'`));
    assert.equal(outcomes.length, 6);
    for (const o of outcomes) assert.ok(o.ok && o.value.length === 1, `${o.url} has ${DB}`);
  });

  it('reads the topology of the configured cluster, and names the clusters it knows when the name is wrong', async () => {
    const topology = await readClusterTopology(engine, 'cp_cluster');
    assert.deepEqual(
      topology.shards.map((s) => ({ shard: s.shard, weight: s.weight, ports: s.replicas.map((r) => r.port) })),
      [1, 2].map((shard) => ({ shard, weight: 1, ports: [1, 2, 3].map((r) => cluster.node(shard, r).tcpPort) })),
    );
    assert.equal(resolveInsertQuorum(topology, 'majority'), 2);
    assert.equal(resolveInsertQuorum(topology, 3), 3);
    assert.throws(() => resolveInsertQuorum(topology, 4), /CLICKHOUSE_INSERT_QUORUM=4, but shard 1 .* has only 3 replica/);
    await assert.rejects(readClusterTopology(engine, 'no_such_cluster'), (err: unknown) => {
      assert.ok(err instanceof AppError && err.code === ErrorCode.StorageFailure);
      assert.match(err.message, /no cluster named "no_such_cluster".*it has: .*cp_cluster/);
      return true;
    });
  });

  it('uses the nodes in turn', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await replicaMacro());
    assert.deepEqual(new Set(seen), new Set(cluster.nodes.map((n) => n.replicaName)));
  });

  it('onEveryNode runs a statement on each node and reports a dead one instead of throwing', async () => {
    await cluster.killReplica(2, 2);
    try {
      const outcomes = await engine.onEveryNode(async (e) => {
        await e.exec(`CREATE DATABASE IF NOT EXISTS ${LOCAL_DB}`);
        await e.exec(
          `CREATE TABLE IF NOT EXISTS ${LOCAL_DB}.t (k String, d Date) ` +
            `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/test/{shard}/${LOCAL_DB}/t', '{replica}') PARTITION BY d ORDER BY k`,
        );
      });
      const failed = outcomes.filter((o) => !o.ok);
      assert.deepEqual(failed.map((o) => o.url), [cluster.node(2, 2).url]);
      assert.ok(!failed[0]!.ok && isNodeUnreachable(failed[0]!.error));
    } finally {
      await cluster.restartReplica(2, 2);
    }
    // The revived node is reached again (its quarantine is short) and catches up on the DDL.
    const retry = await eventually(
      'DDL reaches the revived node',
      () => engine.onEveryNode((e) => e.exec(`CREATE DATABASE IF NOT EXISTS ${LOCAL_DB}`).then(() =>
        e.exec(`CREATE TABLE IF NOT EXISTS ${LOCAL_DB}.t (k String, d Date) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/test/{shard}/${LOCAL_DB}/t', '{replica}') PARTITION BY d ORDER BY k`),
      )),
      (o) => o.every((x) => x.ok),
    );
    assert.equal(retry.length, 6);
  });

  it('skips a dead node: every call still answers, the node is quarantined, and used again once it is back', async () => {
    await cluster.killReplica(1, 1);
    const dead = cluster.node(1, 1).url;
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add(await replicaMacro());
      assert.ok(!seen.has('s1r1'), 'no answer came from the dead node');
      assert.equal(seen.size, 5);
      const standing = engine.standings().find((s) => s.url === dead)!;
      assert.match(standing.lastError ?? '', /ECONNREFUSED/);
      // A stream moves on too, as long as no row has been handed out.
      const rows: unknown[] = [];
      for (let i = 0; i < 6; i++) for await (const r of engine.queryStream('SELECT number FROM system.numbers LIMIT 3')) rows.push(r);
      assert.equal(rows.length, 18);
      // Inserts move as well (the replicated table absorbs a re-sent block).
      for (let i = 0; i < 6; i++) await engine.insertJsonLines(`${LOCAL_DB}.t`, JSON.stringify({ k: `k${i}`, d: '2024-01-01' }));
    } finally {
      await cluster.restartReplica(1, 1);
    }
    await eventually('the revived node answers again', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(await replicaMacro());
      return seen;
    }, (seen) => seen.has('s1r1'));
    assert.equal(engine.standings().find((s) => s.url === dead)!.state, 'up');
  });

  it('a stream the consumer leaves early ends its query on the node', async () => {
    for await (const row of engine.queryStream("SELECT number AS n, 'early-break-probe' AS tag FROM system.numbers")) {
      assert.equal(row.n, '0');
      break;
    }
    await eventually(
      'no node still runs the abandoned query',
      async () => {
        const outcomes = await engine.onEveryNode((e) =>
          e.query<{ c: string }>("SELECT count() AS c FROM system.processes WHERE query LIKE '%early-break-probe%' AND query NOT LIKE '%system.processes%'"),
        );
        return outcomes.reduce((sum, o) => sum + (o.ok ? Number(o.value[0]!.c) : 1), 0);
      },
      (running) => running === 0,
    );
  });

  it('with no node reachable a call fails once, naming every node', async () => {
    const nowhere = new MultiNodeEngine({ urls: ['http://127.0.0.1:9', 'http://127.0.0.1:10'], database: DB, requestTimeoutMs: 2000 });
    await assert.rejects(nowhere.open(), (err: unknown) => {
      assert.ok(err instanceof AppError && err.code === ErrorCode.StorageFailure);
      assert.match(err.message, /no node of 2 answered .*127\.0\.0\.1:9.*127\.0\.0\.1:10/);
      return true;
    });
    await assert.rejects(nowhere.query('SELECT 1'), /no node of 2 answered/);
    await nowhere.close();
  });

  it('reads every replica\'s health through any live node: up, macros, tables, queue, delay', async () => {
    const topology = await readClusterTopology(engine, 'cp_cluster');
    const health = await readReplicaHealth(engine, topology, { databasePrefix: LOCAL_DB });
    assert.equal(health.length, 6);
    for (const h of health) {
      const node = cluster.node(h.shard, h.replica);
      assert.equal(h.up, true, `${node.replicaName}: ${h.lastError}`);
      assert.deepEqual(h.macros, { shard: String(h.shard), replica: node.replicaName });
      assert.equal(h.zooKeeper, 'ok');
      assert.equal(h.tables, 1);
      assert.equal(h.readOnly, false);
      assert.ok(h.queueSize >= 0 && h.absoluteDelaySeconds >= 0);
    }
    // Other databases' replicated tables are not counted.
    const none = await readReplicaHealth(engine, topology, { databasePrefix: 'nothing_here' });
    assert.ok(none.every((h) => h.tables === 0));
  });

  it('reports a dead replica as down with the reason, the others as up', async () => {
    const topology = await readClusterTopology(engine, 'cp_cluster');
    await cluster.killReplica(2, 3);
    try {
      const health = await readReplicaHealth(engine, topology, { databasePrefix: LOCAL_DB, timeoutSeconds: 2 });
      const down = healthOf(health, 2, 3);
      assert.equal(down.up, false);
      assert.equal(down.zooKeeper, 'unknown');
      assert.match(down.lastError ?? '', /Connection refused|connect|ECONNREFUSED/i);
      assert.equal(health.filter((h) => h.up).length, 5);
    } finally {
      await cluster.restartReplica(2, 3);
    }
  });

  it('without ZooKeeper the replicas report read-only and ZooKeeper unreachable, and recover after it returns', async () => {
    const topology = await readClusterTopology(engine, 'cp_cluster');
    await cluster.killZooKeeper();
    try {
      const health = await eventually(
        'replicas read-only without ZooKeeper',
        () => readReplicaHealth(engine, topology, { databasePrefix: LOCAL_DB }),
        (all) => all.every((h) => h.up && h.readOnly && h.zooKeeper === 'unreachable'),
        30_000,
      );
      assert.ok(health.every((h) => (h.lastError ?? '').length > 0), 'the ZooKeeper failure is the last error');
    } finally {
      await cluster.restartZooKeeper();
    }
    await eventually(
      'replicas writable again',
      () => readReplicaHealth(engine, topology, { databasePrefix: LOCAL_DB }),
      (all) => all.every((h) => h.up && !h.readOnly && h.zooKeeper === 'ok'),
      60_000,
    );
  });
});
