import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StateStore } from '../../src/platform/state-store.js';
import { JobQueue } from '../../src/workers/job-queue.js';
import { WorkerRegistry } from '../../src/workers/worker-registry.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let store: StateStore;
let now = 1_000_000;

before(async () => {
  dir = makeTempDir('job-queue');
  store = await StateStore.open(dir);
});
after(async () => {
  await store.close();
  removeTempDir(dir);
});

test('lease, expiry back to the queue, completion once, late completion refused', async () => {
  const q = new JobQueue(() => store, { leaseMs: 1000, maxAttempts: 3, now: () => now });
  const applied: unknown[] = [];
  q.onResult('column-stats', async (_job, result) => {
    applied.push(result);
    return result;
  });
  const job = await q.enqueue('column-stats', { tenant: 'acme', table: 'events' });
  assert.equal(await q.lease('w1', ['retention-sweep']), undefined, 'wrong type');
  const first = await q.lease('w1', ['column-stats']);
  assert.equal(first?.id, job.id);
  const firstLease = first!.lease!.id;
  assert.equal(await q.lease('w2', ['column-stats']), undefined, 'leased jobs are not handed out twice');
  now += 1001; // w1 died: the lease runs out
  const second = await q.lease('w2', ['column-stats']);
  assert.equal(second?.id, job.id);
  assert.equal(second!.attempts, 2);
  const secondLease = second!.lease!.id;
  await assert.rejects(q.complete(job.id, firstLease, { late: true }), /not leased under this lease/);
  await q.renew(job.id, secondLease);
  const done = await q.complete(job.id, secondLease, { ok: 1 });
  assert.equal(done.duplicate, false);
  assert.equal(done.job.completedBy, 'w2');
  const again = await q.complete(job.id, secondLease, { ok: 2 });
  assert.equal(again.duplicate, true, 'completing twice is harmless');
  const late = await q.complete(job.id, firstLease, { ok: 3 });
  assert.equal(late.duplicate, true);
  assert.deepEqual(applied, [{ ok: 1 }]);
  assert.deepEqual((await q.get(job.id))!.result, { ok: 1 });
  assert.deepEqual(q.openCounts(), {});
});

test('failures retry with backoff until the last attempt; sweep returns expired leases', async () => {
  const q = new JobQueue(() => store, { leaseMs: 1000, maxAttempts: 2, now: () => now });
  const job = await q.enqueue('retention-sweep', { tenant: 'acme', ttlSeconds: 60 });
  const l1 = await q.lease('w1', ['retention-sweep']);
  const failed = await q.fail(job.id, l1!.lease!.id, 'boom', true);
  assert.equal(failed.status, 'queued');
  assert.equal(await q.lease('w1', ['retention-sweep']), undefined, 'backoff');
  now += 1000;
  const l2 = await q.lease('w1', ['retention-sweep']);
  assert.equal(l2!.attempts, 2);
  now += 1001;
  assert.equal(await q.sweep(), 1);
  const dead = await q.get(job.id);
  assert.equal(dead!.status, 'failed', 'no attempts left after the lease expired');
  // Reloading from the store keeps open jobs only.
  const other = await q.enqueue('retention-sweep', { tenant: 'b', ttlSeconds: 1 });
  const q2 = new JobQueue(() => store, { leaseMs: 1000, maxAttempts: 2, now: () => now });
  await q2.load();
  assert.equal((await q2.lease('w9', ['retention-sweep']))?.id, other.id);
});

test('workers expire without heartbeats and come back by registering again', async () => {
  const reg = new WorkerRegistry(() => store, 1000, () => now);
  const w = await reg.register({ id: 'w1', service: 'tenant-node', url: 'http://127.0.0.1:9/', routes: [], jobTypes: [], capacity: 4, version: '1' }, 'service:k1');
  assert.equal(w.url, 'http://127.0.0.1:9');
  now += 900;
  assert.ok(await reg.heartbeat('w1'));
  now += 900;
  assert.deepEqual(await reg.expire(), []);
  now += 1001;
  assert.equal((await reg.expire()).length, 1);
  assert.equal(reg.live().length, 0);
  assert.equal(await reg.heartbeat('w1'), undefined, 'an expired worker must register again');
  await reg.register({ id: 'w1', service: 'tenant-node', url: 'http://127.0.0.1:9', routes: [], jobTypes: [], capacity: 4, version: '1' }, 'service:k1');
  assert.equal(reg.live().length, 1);
  assert.ok(!('forwardToken' in reg.list()[0]!));
});
