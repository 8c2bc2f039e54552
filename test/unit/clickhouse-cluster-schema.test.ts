// The pure parts of cluster mode: how an insert is cut into chunks (a re-sent
// chunk must be the identical block), how a node's identity is checked
// against the cluster, generations, and ZooKeeper column lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkStarts } from '../../src/storage/clickhouse/cluster-insert-intents.js';
import { checkJoiningNode, checkMembership, ClusterMembershipError, type NodeIdentity } from '../../src/storage/clickhouse/cluster-membership.js';
import { compareGenerations, parseZooKeeperColumns, zooKeeperColumnNames } from '../../src/storage/clickhouse/cluster-inventory.js';
import type { ClusterTopology } from '../../src/storage/clickhouse/cluster-topology.js';
import { newTableGeneration } from '../../src/storage/physical-names.js';
import type { StoredRecord } from '../../src/storage/record-types.js';

const DAY = 86_400_000;
const rows = (n: number, days = 1): StoredRecord[] =>
  Array.from({ length: n }, (_, i) => ({ dataId: `d${i}`, tsMs: Date.UTC(2026, 0, 1) + (i % days) * DAY, lsn: 1 + Math.floor(i / 3), payload: {} }));

test('chunks depend on the rows alone: at most maxRows rows and maxDays days each, the same rows always cut the same way', () => {
  assert.deepEqual(chunkStarts(rows(25), 10, 100), [0, 10, 20]);
  assert.deepEqual(chunkStarts(rows(10), 10, 100), [0]);
  assert.deepEqual(chunkStarts([], 10, 100), []);
  // A chunk never spans more days than a replica keeps blocks for deduplication.
  assert.deepEqual(chunkStarts(rows(12, 12), 100, 5), [0, 5, 10]);
  const big = rows(5000, 30);
  assert.deepEqual(chunkStarts(big, 700, 7), chunkStarts(big.map((r) => ({ ...r })), 700, 7));
  // A prefix of the rows is cut where the whole is, up to its end.
  const whole = chunkStarts(big, 700, 7);
  assert.deepEqual(chunkStarts(big.slice(0, whole[3]!), 700, 7), whole.slice(0, 3));
});

const topology: ClusterTopology = {
  cluster: 'c',
  shards: [1, 2].map((shard) => ({ shard, weight: 1, replicas: [1, 2, 3].map((replica) => ({ shard, replica, host: 'h', port: 9000 + shard * 10 + replica })) })),
};
const id = (url: string, shard: number, replica: string, shardMacro = String(shard)): NodeIdentity => ({ url, shard, replica, shardMacro });
const urls = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];

test('CLICKHOUSE_URL must name every replica once, and shard macros must tell shards apart', () => {
  const good = new Map([id('u1', 1, 'a'), id('u2', 1, 'b'), id('u4', 2, 'a')].map((i) => [i.url, i]));
  checkMembership(topology, urls, good); // u3, u5, u6 unreachable: checked when they join
  assert.throws(() => checkMembership(topology, urls.slice(0, 5), good), (e: Error) => e instanceof ClusterMembershipError && /names 5 server\(s\), but cluster c has 6 replica\(s\)/.test(e.message));
  const known = [...good.values()];
  assert.throws(() => checkJoiningNode(topology, known, id('u3', 1, 'a')), /u3 and u1 are the same replica/);
  assert.throws(() => checkJoiningNode(topology, known, id('u3', 1, 'c', 'x')), /shard 1: u3 has shard macro "x" but u1 has "1"/);
  assert.throws(() => checkJoiningNode(topology, known.slice(0, 2), id('u5', 2, 'b', '1')), /shards 1 and 2 both have shard macro "1"/);
  assert.throws(() => checkJoiningNode(topology, known, id('u5', 3, 'b')), /shard 3, which cluster c does not have/);
  checkJoiningNode(topology, known, id('u3', 1, 'c'));
  assert.throws(
    () => checkJoiningNode(topology, [...known, id('u3', 1, 'c')], id('u5', 1, 'd')),
    /names 4 servers of shard 1, which has 3 replica/,
  );
});

test('generations order by creation time; ZooKeeper column lists parse back to definitions and names', () => {
  assert.ok(compareGenerations(newTableGeneration(2_000_000_000_000), newTableGeneration(1_900_000_000_000)) > 0);
  assert.equal(compareGenerations(newTableGeneration(5), newTableGeneration(5)), 0);
  const value = 'columns format version: 1\n3 columns:\n`data_id` String\n`amount` Nullable(Float64)\n`we``ird` Nullable(String)\n';
  assert.deepEqual(parseZooKeeperColumns(value), ['`data_id` String', '`amount` Nullable(Float64)', '`we``ird` Nullable(String)']);
  assert.deepEqual(zooKeeperColumnNames('columns format version: 1\n2 columns:\n`data_id` String\n`amount` Nullable(Float64)\n'), ['data_id', 'amount']);
  assert.throws(() => parseZooKeeperColumns('garbage'), /unreadable column list/);
});
