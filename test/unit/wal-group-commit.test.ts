import { test } from 'node:test';
import assert from 'node:assert/strict';

import { GroupCommitter } from '../../src/storage/wal/group-commit.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 5));

test('submissions arriving during a flush are flushed together, in order', async () => {
  const batches: number[][] = [];
  const gc = new GroupCommitter<number>(async (batch) => {
    batches.push(batch);
    await tick();
  });
  const first = gc.submit(0);
  await Promise.resolve(); // let the first flush start
  await Promise.resolve();
  const rest = Array.from({ length: 10 }, (_, i) => gc.submit(i + 1));
  await Promise.all([first, ...rest]);
  assert.deepEqual(batches.flat(), Array.from({ length: 11 }, (_, i) => i));
  assert.ok(batches.length <= 2, `expected at most 2 flushes, got ${batches.length}`);
});

test('a failed flush rejects its batch, the queue behind it and every later submission', async () => {
  let calls = 0;
  const gc = new GroupCommitter<number>(async () => {
    calls++;
    await tick();
    throw new Error('disk on fire');
  });
  const a = gc.submit(1);
  await Promise.resolve();
  await Promise.resolve();
  const b = gc.submit(2); // queued while the failing flush is in flight
  await assert.rejects(a, /disk on fire/);
  await assert.rejects(b, /disk on fire/);
  await assert.rejects(gc.submit(3), /disk on fire/);
  assert.equal(calls, 1, 'queued items must not be retried after a failure');
  assert.equal(gc.isFailed, true);
  await gc.idle();
});
