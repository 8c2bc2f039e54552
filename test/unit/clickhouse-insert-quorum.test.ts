import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveInsertQuorum, type ClusterTopology } from '../../src/storage/clickhouse/cluster-topology.js';

function topology(...replicasPerShard: number[]): ClusterTopology {
  return {
    cluster: 'c',
    shards: replicasPerShard.map((n, i) => ({
      shard: i + 1,
      weight: 1,
      replicas: Array.from({ length: n }, (_, r) => ({ shard: i + 1, replica: r + 1, host: 'h', port: 9000 + r })),
    })),
  };
}

test('majority is the smallest shard\'s majority, so every shard can meet it', () => {
  assert.equal(resolveInsertQuorum(topology(3, 3), 'majority'), 2);
  assert.equal(resolveInsertQuorum(topology(2, 2), 'majority'), 2);
  assert.equal(resolveInsertQuorum(topology(5, 5), 'majority'), 3);
  assert.equal(resolveInsertQuorum(topology(1), 'majority'), 1);
  // One setting serves the whole Distributed insert: 2 of 3 bounds the 5-replica shard too.
  assert.equal(resolveInsertQuorum(topology(5, 3), 'majority'), 2);
});

test('a configured quorum no shard can meet fails at start, naming the shard', () => {
  assert.equal(resolveInsertQuorum(topology(3, 3), 3), 3);
  assert.equal(resolveInsertQuorum(topology(3, 2), 1), 1);
  assert.throws(() => resolveInsertQuorum(topology(3, 2), 3), /CLICKHOUSE_INSERT_QUORUM=3, but shard 2 of cluster c has only 2 replica/);
});
