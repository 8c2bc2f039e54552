// Which parts of a replica are stray (cluster-stray-parts.ts): the part names
// are as 18.16 writes them for PARTITION BY date; the cases are what the
// failover tests met (an insert that lost ZooKeeper, a failed quorum) and what
// must never be taken for stray (a merge or a drop between the reads).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { covers, parsePartName, restartRefused, strayParts } from '../../src/storage/clickhouse/cluster-stray-parts.js';

const part = (name: string) => {
  const p = parsePartName(name);
  assert.ok(p, `${name} parses`);
  return p;
};

test('part names: partition, block range, level, with or without a mutation version', () => {
  assert.deepEqual(parsePartName('20261130_61_61_0'), { partition: '20261130', minBlock: 61, maxBlock: 61, level: 0 });
  assert.deepEqual(parsePartName('20261130_0_58_11'), { partition: '20261130', minBlock: 0, maxBlock: 58, level: 11 });
  assert.deepEqual(parsePartName('20261130_0_58_11_7'), { partition: '20261130', minBlock: 0, maxBlock: 58, level: 11 });
  assert.deepEqual(parsePartName('all_3_9_2'), { partition: 'all', minBlock: 3, maxBlock: 9, level: 2 });
  assert.deepEqual(parsePartName('9f86d081884c7d659a2feaa0c55ad015_1_1_0'), { partition: '9f86d081884c7d659a2feaa0c55ad015', minBlock: 1, maxBlock: 1, level: 0 });
  for (const bad of ['', 'tmp_insert_20261130_1_1_0', 'ignored_20261130_61_61_0', 'noquorum_20261130_4_4_0', '20261130_61_61', '20261130_a_61_0', '20261130_1_1_0_2_3']) {
    assert.equal(parsePartName(bad), undefined, `${JSON.stringify(bad)} is not a part name`);
  }
});

test('a part covers another of its partition whose blocks it spans at a level at least as high', () => {
  assert.ok(covers(part('20261130_59_62_1'), part('20261130_61_61_0')), 'a merge over the gap');
  assert.ok(covers(part('20261130_0_58_11'), part('20261130_0_58_11')), 'itself');
  assert.ok(covers(part('20261130_0_58_11'), part('20261130_0_0_0')), 'its first block');
  assert.ok(covers(part('20261130_0_58_11'), part('20261130_58_58_0')), 'its last block');
  assert.ok(!covers(part('20261130_0_58_11'), part('20261130_59_59_0')), 'the next block');
  assert.ok(!covers(part('20261130_0_58_11'), part('20261130_58_59_1')), 'a range that sticks out');
  assert.ok(!covers(part('20261129_0_58_11'), part('20261130_3_3_0')), 'another day');
  assert.ok(!covers(part('20261130_61_61_0'), part('20261130_61_61_1')), 'a lower level');
});

test('a part active locally that ZooKeeper does not list for the replica, nor covers, is stray', () => {
  // The failover test's case: 61 lost ZooKeeper on commit; its rows came again as 62.
  const local = ['20261130_0_58_11', '20261130_59_59_0', '20261130_60_60_0', '20261130_61_61_0', '20261130_62_62_0'];
  const zk = ['20261130_0_58_11', '20261130_59_59_0', '20261130_60_60_0', '20261130_62_62_0'];
  assert.deepEqual(strayParts(local, local, zk, []), [{ part: '20261130_61_61_0', why: 'not in ZooKeeper' }]);
  // The replica agrees with ZooKeeper: nothing.
  assert.deepEqual(strayParts(zk, zk, zk, []), []);
});

test('a part ZooKeeper lists but whose quorum failed is stray, even though listed', () => {
  const local = ['20261130_0_9_2', '20261130_10_10_0', '20261130_11_11_0'];
  assert.deepEqual(strayParts(local, local, local, ['20261130_10_10_0', '20261130_4_4_0']), [{ part: '20261130_10_10_0', why: 'failed quorum' }]);
});

test('a merge between the reads is not taken for stray parts', () => {
  // The sources were active in the first read; ZooKeeper already lists the merged part instead.
  const before = ['20261130_0_5_1', '20261130_6_6_0', '20261130_7_7_0'];
  const after = ['20261130_0_7_2'];
  assert.deepEqual(strayParts(before, after, ['20261130_0_7_2'], []), []);
  // ZooKeeper has the merged part but the replica has not swapped its parts yet: the sources are covered.
  assert.deepEqual(strayParts(before, before, ['20261130_0_7_2'], []), []);
});

test('a part dropped (or merged away) between the reads is not stray', () => {
  const before = ['20260101_1_1_0', '20261130_2_2_0'];
  const after = ['20261130_2_2_0'];
  assert.deepEqual(strayParts(before, after, ['20261130_2_2_0'], []), []);
  // A part that became active after the first read is judged next time, not now.
  assert.deepEqual(strayParts(['20261130_2_2_0'], ['20261130_2_2_0', '20261130_3_3_0'], ['20261130_2_2_0'], []), []);
});

test('a covering part of another partition, or an unreadable name, does not clear or condemn a part', () => {
  assert.deepEqual(strayParts(['20261130_5_5_0'], ['20261130_5_5_0'], ['20261129_0_9_1'], []), [{ part: '20261130_5_5_0', why: 'not in ZooKeeper' }]);
  // Only what is certainly stray is removed.
  assert.deepEqual(strayParts(['odd-name'], ['odd-name'], [], []), []);
  // An empty replica or an empty ZooKeeper list.
  assert.deepEqual(strayParts([], [], ['20261130_1_1_0'], []), []);
  assert.deepEqual(strayParts(['20261130_1_1_0'], ['20261130_1_1_0'], [], []), [{ part: '20261130_1_1_0', why: 'not in ZooKeeper' }]);
});

test('a restart is refused while the parts unknown to ZooKeeper hold more than half the rows; failed quorum parts do not count', () => {
  const rows = (entries: Array<[string, number]>) => new Map(entries);
  const unknown = { part: '20261130_1_1_0', why: 'not in ZooKeeper' } as const;
  // A young table: the stray part is all it has.
  assert.equal(restartRefused([unknown], rows([['20261130_1_1_0', 20]])), true);
  // Its rows sent again have arrived: exactly half is still accepted by 18.16 (it refuses above the ratio).
  assert.equal(restartRefused([unknown], rows([['20261130_1_1_0', 20], ['20261130_2_2_0', 20]])), false);
  assert.equal(restartRefused([unknown], rows([['20261130_1_1_0', 21], ['20261130_2_2_0', 20]])), true);
  assert.equal(restartRefused([unknown], rows([['20261130_0_0_0', 3338], ['20261130_1_1_0', 20]])), false);
  // A server whose replicated_max_ratio_of_wrong_parts is lower refuses sooner.
  assert.equal(restartRefused([unknown], rows([['20261130_1_1_0', 20], ['20261130_2_2_0', 60]]), 0.2), true);
  assert.equal(restartRefused([unknown], rows([['20261130_1_1_0', 20], ['20261130_2_2_0', 60]]), 0.25), false);
  // A failed quorum part is in ZooKeeper: the restart is accepted however many rows it holds.
  assert.equal(restartRefused([{ part: '20261130_1_1_0', why: 'failed quorum' }], rows([['20261130_1_1_0', 20]])), false);
});
