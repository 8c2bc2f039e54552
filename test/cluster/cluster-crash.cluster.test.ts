// The crash test (scripts/crash-test) against a ClickHouse cluster: the real
// control plane in cluster mode is SIGKILLed at random moments under 64
// clients and restarted on the same DATA_DIR. A kill can land between a
// quorum insert and the catalog commit, or between a chunk's acknowledgement
// and the record of it: after the restart the applier re-sends the identical
// block (its insert intent), which the replicas deduplicate. Every
// acknowledged id must be in the cluster and in Parquet exactly once, and the
// replicas of each shard must agree.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { runCrashTest } from '../../scripts/crash-test/crash-test.js';
import { startClickHouseCluster, type RunningClickHouseCluster } from '../helpers/clickhouse-cluster.js';
import { convergedCounts, idCounts, NodeClients } from '../helpers/cluster-checks.js';

const started = await startClickHouseCluster({ shards: 2, replicas: 3, name: 'cp_cluster' });
const skip = 'skipped' in started ? started.skipped : false;
if (skip) console.log(`# cluster crash test skipped: ${skip}`);
const cluster = started as RunningClickHouseCluster;
const nodes = skip ? undefined : new NodeClients(cluster);
after(async () => {
  await nodes?.close();
  if (!skip) await cluster.stop();
});

test('kill -9 cycles against the cluster: acknowledged records exactly once in ClickHouse and Parquet, replicas converged', { skip, timeout: 600_000 }, async () => {
  const r = await runCrashTest({
    cycles: 3,
    clients: 64,
    minUptimeMs: 800,
    maxUptimeMs: 2500,
    log: (l) => console.log(`# ${l}`),
    env: { CLICKHOUSE_URL: cluster.urls.join(','), CLICKHOUSE_CLUSTER: cluster.name },
    countClickHouse: async (tenant) => {
      const table = { base: 'control_plane', tenant, table: 'events' };
      const { perReplica, total } = await convergedCounts(nodes!, cluster, table);
      const ids = await idCounts(nodes!, cluster, table);
      console.log(`# rows per replica: ${JSON.stringify(perReplica)}`);
      assert.equal([...ids.values()].reduce((a, b) => a + b, 0), total, 'the shards add up to what the Distributed table answers');
      return ids;
    },
  });
  console.log(`# ${JSON.stringify(r)}`);
  assert.ok(r.acknowledged > 1000, `enough load to mean something (acknowledged ${r.acknowledged})`);
  assert.equal(r.lostClickHouse, 0, 'lost in ClickHouse');
  assert.equal(r.duplicatedClickHouse, 0, 'duplicated in ClickHouse');
  assert.equal(r.lostParquet, 0, 'lost in Parquet');
  assert.equal(r.duplicatedParquet, 0, 'duplicated in Parquet');
});
