// mapInSlices must equal items.map(fn) and really give way between slices:
// a timer due meanwhile runs before the mapping finishes.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { mapInSlices } from '../../src/platform/slices.js';

it('maps in order, like Array.prototype.map', async () => {
  const items = Array.from({ length: 10_001 }, (_, i) => i);
  assert.deepEqual(await mapInSlices(items, (n) => n * 2, 1000), items.map((n) => n * 2));
  assert.deepEqual(await mapInSlices([], (n: number) => n), []);
});

it('lets other callbacks run between slices', async () => {
  const order: string[] = [];
  setImmediate(() => order.push('other'));
  await mapInSlices(Array.from({ length: 30 }, (_, i) => i), (n) => order.push(`item ${n}`), 10);
  assert.ok(order.indexOf('other') > 0 && order.indexOf('other') < order.length - 1, `the other callback ran mid-way: ${order.join(', ')}`);
});
