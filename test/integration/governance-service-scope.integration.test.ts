// Scoped service credentials against the real process: a worker's service key
// may sweep a tenant's retention only while it holds that tenant's leased
// retention-sweep job (X-Job-Id, X-Job-Lease), only for a tenant whose
// retentionDays asks for it and no deeper than that setting; dry runs say what
// would go. Everything outside the lease is 403, changes nothing, and is on
// record in the audit log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';
import { send } from '../helpers/http-answer.js';

const DAY = 86_400_000;

describe('scoped service credentials', () => {
  let plane: RunningPlane;
  let admin: Record<string, string>;
  let worker: Record<string, string>;
  let otherService: Record<string, string>;
  const url = (service: string, path: string) => plane.url(service, path);
  const rowsOf = async (tenant: string) => Number((await send(url('metadata-catalog', '/metadata/stats'), { headers: { ...admin, 'x-tenant-id': tenant } })).body.rows);
  const sweep = (headers: Record<string, string>, tenant: string, body: Record<string, unknown>) =>
    send(url('tenant-node', '/data/retention/sweep'), { method: 'POST', headers: { ...headers, 'x-tenant-id': tenant }, body });

  /** Enqueues a retention-sweep job (as the admin) and leases it to the worker: the headers that name the lease. */
  const leaseJob = async (payload: Record<string, unknown>) => {
    const job = await send(url('operation-node', '/jobs'), { method: 'POST', headers: admin, body: { type: 'retention-sweep', payload } });
    assert.equal(job.status, 201, job.text);
    const lease = await send(url('operation-node', '/jobs/lease'), { method: 'POST', headers: worker, body: { workerId: 'scope-worker', leaseMs: 600_000 } });
    assert.equal(lease.status, 200, lease.text);
    const leased = lease.body as { job: { id: string }; leaseId: string };
    assert.equal(leased.job.id, job.body.id);
    return { 'x-job-id': leased.job.id, 'x-job-lease': leased.leaseId };
  };

  before(async () => {
    plane = await startPlane({ env: { LOG_LEVEL: 'warn' } });
    admin = await adminHeaders(plane);
    for (const [id, retentionDays] of [['scope-a', 30], ['scope-b', 30], ['scope-none', undefined]] as const) {
      const r = await send(url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: admin, body: { id, ...(retentionDays ? { retentionDays } : {}) } });
      assert.equal(r.status, 201);
      const now = Date.now();
      const rows = [
        ...Array.from({ length: 5 }, (_, i) => ({ data_id: `old-${i}`, payload: { i }, timestamp: now - 100 * DAY })),
        ...Array.from({ length: 3 }, (_, i) => ({ data_id: `mid-${i}`, payload: { i }, timestamp: now - 10 * DAY })),
        ...Array.from({ length: 2 }, (_, i) => ({ data_id: `new-${i}`, payload: { i } })),
      ];
      assert.equal((await send(url('tenant-node', '/data'), { method: 'POST', headers: { ...admin, 'x-tenant-id': id }, body: rows })).status, 201);
    }
    for (const id of ['scope-a', 'scope-b', 'scope-none']) {
      for (let i = 0; (await rowsOf(id)) !== 10; i++) {
        assert.ok(i < 200, `rows of ${id} applied`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const mint = async (name: string) => ({ authorization: `Bearer ${String((await send(url('auth-gateway', '/admin/service-credentials'), { method: 'POST', headers: admin, body: { name } })).body.key)}` });
    worker = await mint('scope worker');
    otherService = await mint('scope other');
    const reg = await send(url('operation-node', '/workers/register'), { method: 'POST', headers: worker, body: { id: 'scope-worker', service: 'tenant-node', url: 'http://127.0.0.1:9', jobTypes: ['retention-sweep'] } });
    assert.equal(reg.status, 201, reg.text);
  });
  after(async () => plane?.cleanup());

  test('without a lease, a service key may not sweep (403, on record), and nothing is dropped', async () => {
    const r = await sweep(worker, 'scope-a', { before: Date.now() - 40 * DAY });
    assert.equal(r.status, 403, r.text);
    assert.match(String((r.body.error as { message: string }).message), /X-Job-Id/);
    const bogus = await sweep({ ...worker, 'x-job-id': 'j-000000000-0000000000', 'x-job-lease': 'made-up-lease' }, 'scope-a', { before: Date.now() - 40 * DAY });
    assert.equal(bogus.status, 403);
    assert.equal(await rowsOf('scope-a'), 10);
    // A service key reads no tenant data either.
    assert.equal((await send(url('tenant-node', '/data'), { headers: { ...worker, 'x-tenant-id': 'scope-a' } })).status, 403);
    const audit = (await send(url('auth-gateway', '/admin/audit?action=retention.sweep&tenant=scope-a'), { headers: admin })).body.entries as Array<{ outcome: string; role: string; principal: string }>;
    assert.ok(audit.length >= 2 && audit.every((e) => e.outcome === 'denied' && e.role === 'service' && e.principal.startsWith('service:')), JSON.stringify(audit));
  });

  test('with the lease: other tenants, other credentials, deeper or future cutoffs are refused; a dry run and the sweep itself pass', async () => {
    const cutoff = Date.now() - 40 * DAY;
    const lease = await leaseJob({ tenant: 'scope-a', before: cutoff });
    const other = await sweep({ ...worker, ...lease }, 'scope-b', { before: cutoff });
    assert.equal(other.status, 403, 'the lease is for scope-a');
    assert.match(String((other.body.error as { message: string }).message), /scope-a, not scope-b/);
    assert.equal((await sweep({ ...otherService, ...lease }, 'scope-a', { before: cutoff })).status, 403, 'another service key cannot borrow the lease');
    const deeper = await sweep({ ...worker, ...lease }, 'scope-a', { before: Date.now() - 5 * DAY });
    assert.equal(deeper.status, 403, 'deeper than retentionDays');
    assert.match(String((deeper.body.error as { message: string }).message), /retentionDays 30/);
    assert.equal((await sweep({ ...worker, ...lease }, 'scope-a', { before: Date.now() - 50 * DAY })).status, 403, 'not the cutoff the job names');
    assert.equal((await sweep({ ...worker, ...lease }, 'scope-a', { before: cutoff, table: 'clicks' })).status, 200, 'a narrower sweep of the job is fine');
    const future = await sweep({ ...worker, ...lease }, 'scope-a', { before: Date.now() + DAY });
    assert.equal(future.status, 400);
    assert.equal(await rowsOf('scope-a'), 10, 'nothing dropped by any refusal');

    const dry = await sweep({ ...worker, ...lease }, 'scope-a', { before: cutoff, dryRun: true });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.body.dryRun, true);
    assert.equal(dry.body.rows, 5);
    assert.equal(dry.body.parts, 1);
    assert.deepEqual(dry.body.days, [new Date(Date.now() - 100 * DAY).toISOString().slice(0, 10)]);
    assert.equal(await rowsOf('scope-a'), 10, 'a dry run drops nothing');

    const done = await sweep({ ...worker, ...lease }, 'scope-a', { before: cutoff });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.rowsDeleted, 5);
    assert.equal(await rowsOf('scope-a'), 5);
    assert.equal(await rowsOf('scope-b'), 10, 'the other tenant is untouched');

    // Once the job is completed the lease is spent.
    assert.equal((await send(url('operation-node', `/jobs/${lease['x-job-id']}/complete`), { method: 'POST', headers: worker, body: { leaseId: lease['x-job-lease'], result: { partitionsDropped: 1, rowsDeleted: 5 } } })).status, 200);
    assert.equal((await sweep({ ...worker, ...lease }, 'scope-a', { before: cutoff })).status, 403);
    const audit = (await send(url('auth-gateway', `/admin/audit?action=retention.sweep&tenant=scope-a&limit=100`), { headers: admin })).body.entries as Array<{ outcome: string; details?: Record<string, unknown> }>;
    const success = audit.find((e) => e.outcome === 'success' && e.details?.rowsDeleted === 5);
    assert.equal(success?.details?.jobId, lease['x-job-id']);
  });

  test('a tenant without retentionDays cannot be swept by a worker, even with a lease', async () => {
    const lease = await leaseJob({ tenant: 'scope-none', before: Date.now() - 40 * DAY });
    const r = await sweep({ ...worker, ...lease }, 'scope-none', { before: Date.now() - 40 * DAY });
    assert.equal(r.status, 403);
    assert.match(String((r.body.error as { message: string }).message), /no retentionDays/);
    assert.equal(await rowsOf('scope-none'), 10);
    // The admin still may (a dry run first).
    const dry = await sweep(admin, 'scope-none', { before: Date.now() - 40 * DAY, dryRun: true });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.rows, 5);
  });
});
