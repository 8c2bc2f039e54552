import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppError } from '../../src/platform/errors.js';
import { StateStore } from '../../src/platform/state-store.js';
import { JobQueue } from '../../src/workers/job-queue.js';
import { verifyLease } from '../../src/workers/lease-verifier.js';
import { WorkerRegistry } from '../../src/workers/worker-registry.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let state: StateStore;
before(async () => {
  dir = makeTempDir('lease-unit');
  state = await StateStore.open(dir);
});
after(async () => {
  await state.close();
  removeTempDir(dir);
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.status, 403);
    return err.message;
  }
}

test('a lease holds only for its job type, tenant, live lease and the credential that registered the worker', async () => {
  const registry = new WorkerRegistry(() => state, 60_000);
  const queue = new JobQueue(() => state, { leaseMs: 60_000, maxAttempts: 3 });
  await registry.register({ id: 'w1', service: 'tenant-node', url: 'http://127.0.0.1:1', routes: [], jobTypes: ['retention-sweep', 'column-stats'], capacity: 1, version: 't' }, 'service:key1');
  const sweep = await queue.enqueue('retention-sweep', { tenant: 'acme', before: 0 });
  const leased = await queue.lease('w1', ['retention-sweep']);
  assert.equal(leased?.id, sweep.id);
  const leaseId = leased!.lease!.id;
  const claim = { jobType: 'retention-sweep', jobId: sweep.id, leaseId, tenant: 'acme', owner: 'service:key1' };

  const grant = await verifyLease(state, claim);
  assert.equal(grant.workerId, 'w1');
  assert.deepEqual(grant.payload, { tenant: 'acme', before: 0 });

  assert.match(await code(verifyLease(state, { ...claim, tenant: 'globex' })), /for tenant acme, not globex/);
  assert.match(await code(verifyLease(state, { ...claim, owner: 'service:key2' })), /another credential/);
  assert.match(await code(verifyLease(state, { ...claim, leaseId: 'not-the-lease' })), /not leased under this lease/);
  assert.match(await code(verifyLease(state, { ...claim, jobType: 'column-stats' })), /is a retention-sweep job/);
  assert.match(await code(verifyLease(state, { ...claim, jobId: 'j-000000000-0000000000' })), /does not exist/);
  assert.match(await code(verifyLease(state, { ...claim, jobId: '../../etc' })), /does not exist/);
  assert.match(await code(verifyLease(state, claim, Date.now() + 61_000)), /may have expired/, 'an expired lease');
  await queue.complete(sweep.id, leaseId, { partitionsDropped: 0, rowsDeleted: 0 });
  assert.match(await code(verifyLease(state, claim)), /status completed/, 'a completed job');
});
