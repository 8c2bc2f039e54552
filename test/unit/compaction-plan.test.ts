// Which parts compaction merges (planMerges): never a part at or above the
// target size, only runs consecutive in LSN order, at most the target size
// per merge, at least minParts parts, and never a large part rewritten to
// add a little to it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planMerges } from '../../src/applier/compaction.js';
import type { PartEntry } from '../../src/catalog/catalog-store.js';

let lsn = 1;
function part(rows: number): PartEntry {
  const firstLsn = lsn;
  lsn += 10;
  return { tenant: 't', table: 'e', date: '2026-01-01', relativePath: `t/e/date=2026-01-01/part-${firstLsn}.parquet`, firstLsn, lastLsn: firstLsn + 9, rows, bytes: rows * 10, minTsMs: 0, maxTsMs: 1 };
}
const sizes = (groups: PartEntry[][]) => groups.map((g) => g.map((p) => p.rows));
const opts = { minParts: 8, maxRows: 1_000_000 };

test('batches of a busy day are merged as many at a time as the target allows, each merge consecutive in LSN order', () => {
  const parts = Array.from({ length: 30 }, () => part(50_000));
  const groups = planMerges([...parts].reverse(), opts);
  assert.deepEqual(sizes(groups), [Array(20).fill(50_000), Array(10).fill(50_000)]);
  for (const g of groups) for (let i = 1; i < g.length; i++) assert.ok(g[i]!.firstLsn > g[i - 1]!.lastLsn);
  assert.deepEqual(groups[1]![0], parts[20]);
});

test('a part at or above the target is never rewritten, and splits the runs around it', () => {
  const before = Array.from({ length: 5 }, () => part(1000));
  const full = part(1_000_000);
  const parts = [...before, full, ...Array.from({ length: 5 }, () => part(1000))];
  const groups = planMerges(parts, { minParts: 5, maxRows: 1_000_000 });
  assert.deepEqual(
    groups.map((g) => g.includes(full)),
    [false, false],
  );
  assert.deepEqual(groups[0], before);
  assert.deepEqual(planMerges(parts, { minParts: 6, maxRows: 1_000_000 }), [], 'five on either side are not six in a row');
});

test('no merge passes the target, and a large part is not rewritten to add a little (954k + 50k)', () => {
  // 954k + 40k would be mostly a rewrite of the large part: the eight small ones are merged without it.
  assert.deepEqual(sizes(planMerges([part(954_000), ...Array.from({ length: 8 }, () => part(5_000))], opts)), [Array(8).fill(5_000)]);
  assert.deepEqual(sizes(planMerges([part(954_000), ...Array.from({ length: 7 }, () => part(50_000))], opts)), [], 'past the target with it, fewer than eight without');
  // A merged part of 400k takes eight more batches of 50k (half of the result), not four.
  assert.deepEqual(sizes(planMerges([part(400_000), ...Array.from({ length: 8 }, () => part(50_000))], opts)), [[400_000, ...Array(8).fill(50_000)]]);
  assert.deepEqual(planMerges([part(800_000), ...Array.from({ length: 4 }, () => part(50_000))], opts), []);
  for (const g of planMerges(Array.from({ length: 100 }, () => part(90_000)), { minParts: 2, maxRows: 1_000_000 })) {
    assert.ok(g.reduce((n, p) => n + p.rows, 0) <= 1_000_000);
  }
});

test('below minParts nothing is merged; two is the least a merge takes', () => {
  assert.deepEqual(planMerges(Array.from({ length: 7 }, () => part(10)), opts), []);
  assert.deepEqual(sizes(planMerges([part(10), part(10)], { minParts: 2, maxRows: 100 })), [[10, 10]]);
  assert.deepEqual(planMerges([part(10)], { minParts: 1, maxRows: 100 }), []);
});
