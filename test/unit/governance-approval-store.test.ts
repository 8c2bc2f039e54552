import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApprovalStore } from '../../src/auth/governance/approval-store.js';
import { AppError } from '../../src/platform/errors.js';
import { StateStore } from '../../src/platform/state-store.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let state: StateStore;
before(async () => {
  dir = makeTempDir('approvals-unit');
  state = await StateStore.open(dir);
});
after(async () => {
  await state.close();
  removeTempDir(dir);
});

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return { status: err.status, code: err.code };
  }
  assert.fail('expected a refusal');
}

const ask = { action: 'tenant-delete' as const, tenant: 'acme', params: {}, summary: 'delete acme', requestedBy: 'user:alice' };

test('only listed operations need approval', () => {
  const store = new ApprovalStore(() => state, { requiredFor: ['tenant-delete'], ttlSeconds: 60 });
  assert.equal(store.requires('tenant-delete'), true);
  assert.equal(store.requires('retention-sweep'), false);
});

test('a different admin approves once: the operation runs, its result is kept; later decisions are 409', async () => {
  const store = new ApprovalStore(() => state, { requiredFor: ['tenant-delete'], ttlSeconds: 60 });
  const pending = await store.request(ask);
  assert.equal(pending.status, 'pending');
  assert.equal((await store.list({ status: 'pending', limit: 10 })).some((a) => a.id === pending.id), true);
  let runs = 0;
  assert.deepEqual(await refusal(store.decide(pending.id, 'user:alice', 'approve', async () => runs++)), { status: 403, code: 'self_approval' });
  assert.equal(runs, 0);
  // Two admins at once: one runs the operation, the other is told it is decided.
  const [a, b] = await Promise.allSettled([
    store.decide(pending.id, 'user:bob', 'approve', async () => ({ n: ++runs })),
    store.decide(pending.id, 'user:carol', 'approve', async () => ({ n: ++runs })),
  ]);
  assert.equal(runs, 1);
  assert.equal(a.status, 'fulfilled');
  assert.equal(a.status === 'fulfilled' && a.value.status, 'approved');
  assert.deepEqual(a.status === 'fulfilled' && a.value.result, { n: 1 });
  assert.equal(b.status, 'rejected');
  assert.equal(b.status === 'rejected' && (b.reason as AppError).code, 'approval_decided');
  assert.deepEqual(await refusal(store.decide(pending.id, 'user:bob', 'reject', async () => undefined)), { status: 409, code: 'approval_decided' });
  assert.equal((await store.get(pending.id))?.decidedBy, 'user:bob');
});

test('a failed operation leaves the approval pending; a requester may withdraw it', async () => {
  const store = new ApprovalStore(() => state, { requiredFor: ['tenant-delete'], ttlSeconds: 60 });
  const pending = await store.request(ask);
  await assert.rejects(store.decide(pending.id, 'user:bob', 'approve', async () => Promise.reject(new Error('clickhouse down'))), /clickhouse down/);
  assert.equal((await store.get(pending.id))?.status, 'pending');
  const withdrawn = await store.decide(pending.id, 'user:alice', 'reject', async () => assert.fail('a rejection runs nothing'));
  assert.equal(withdrawn.status, 'rejected');
});

test('an approval past its TTL is expired: 410, and it never runs; unknown ids are 404', async () => {
  let now = Date.now();
  const store = new ApprovalStore(() => state, { requiredFor: ['tenant-delete'], ttlSeconds: 60 }, () => now);
  const pending = await store.request(ask);
  now += 61_000;
  assert.equal((await store.get(pending.id))?.status, 'expired');
  let ran = false;
  assert.deepEqual(await refusal(store.decide(pending.id, 'user:bob', 'approve', async () => (ran = true))), { status: 410, code: 'approval_expired' });
  assert.equal(ran, false);
  assert.equal((await store.list({ status: 'expired', limit: 100 })).some((a) => a.id === pending.id), true);
  assert.deepEqual(await refusal(store.decide('apr-000000000-0000000000', 'user:bob', 'approve', async () => undefined)), { status: 404, code: 'not_found' });
  assert.deepEqual(await refusal(store.decide('../etc', 'user:bob', 'approve', async () => undefined)), { status: 404, code: 'not_found' });
});
