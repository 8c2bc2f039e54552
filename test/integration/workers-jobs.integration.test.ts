// Jobs through real reference workers: a column-stats job whose worker is
// SIGKILLed mid-lease is completed by another worker (statistics computed from
// a sample read through the control plane); a retention sweep; callbacks need
// a service credential; SIGTERM deregisters a worker cleanly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { listWorkers, serviceToken, startWorker, waitFor, type RunningWorker } from './workers-helpers.js';

let plane: RunningPlane;
let token: Record<string, string>;
let admin: Record<string, string>;
const workers: RunningWorker[] = [];

interface Job {
  id: string;
  status: string;
  completedBy?: string;
  lease?: { workerId: string };
  result?: { columns?: Record<string, { distinct: number; nullFraction: number }>; sampledRows?: number; partitionsDropped?: number };
  error?: string;
  history: { event: string; workerId?: string }[];
}

async function worker(id: string, extra: string[] = []): Promise<RunningWorker> {
  const w = await startWorker(
    ['--id', id, '--service', 'cbo-engine', '--jobs', 'column-stats,retention-sweep', '--poll-ms', '100', '--lease-ms', '1000',
      '--control-plane', plane.url('operation-node', ''), '--tenant-node', plane.url('tenant-node', ''), ...extra],
    token,
  );
  workers.push(w);
  return w;
}

async function enqueue(type: string, payload: Record<string, unknown>): Promise<Job> {
  const res = await fetch(plane.url('operation-node', '/jobs'), {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ type, payload }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Job;
}

async function job(id: string): Promise<Job> {
  return (await (await fetch(plane.url('operation-node', `/jobs/${id}`), { headers: admin })).json()) as Job;
}

before(async () => {
  plane = await startPlane({ env: { LOG_LEVEL: 'warn', WORKER_HEARTBEAT_TTL_MS: '3000' } });
  token = await serviceToken(plane);
  admin = await adminHeaders(plane);
  const { headers } = await tenantKeyHeaders(plane, 'acme');
  const records = Array.from({ length: 40 }, (_, i) => ({
    data_id: `r${i}`,
    payload: { country: ['NL', 'DE', 'FR', 'US'][i % 4], amount: i % 10, ...(i % 5 === 0 ? {} : { coupon: `c${i % 2}` }) },
  }));
  const res = await fetch(plane.url('tenant-node', '/data'), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(records) });
  assert.equal(res.status, 201, await res.text());
});

after(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await plane?.cleanup();
});

test('callbacks need a service (or admin) credential', async () => {
  if (!admin.authorization) return;
  const body = JSON.stringify({ service: 'cbo-engine', url: 'http://127.0.0.1:1' });
  const anon = await fetch(plane.url('operation-node', '/workers/register'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(anon.status, 401);
  const { headers } = await tenantKeyHeaders(plane, 'acme', { role: 'reader' });
  const tenantKey = await fetch(plane.url('operation-node', '/workers/register'), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
  assert.equal(tenantKey.status, 403);
  // A service credential cannot declare routes its service does not designate.
  const svc = { authorization: `Bearer ${token.WORKER_TOKEN}`, 'content-type': 'application/json' };
  const foreign = await fetch(plane.url('operation-node', '/workers/register'), {
    method: 'POST',
    headers: svc,
    body: JSON.stringify({ service: 'cbo-engine', url: 'http://127.0.0.1:1', routes: [{ method: 'POST', path: '/data' }] }),
  });
  assert.equal(foreign.status, 400);
  // ...nor enqueue jobs (admin only).
  const enq = await fetch(plane.url('operation-node', '/jobs'), { method: 'POST', headers: svc, body: JSON.stringify({ type: 'column-stats', payload: { tenant: 'acme' } }) });
  assert.equal(enq.status, 403);
});

test('a column-stats job whose worker dies mid-lease is completed by another worker', async () => {
  const slow = await worker('jobs-a', ['--job-delay-ms', '10000']);
  const created = await enqueue('column-stats', { tenant: 'acme', table: 'events', sampleRows: 1000 });
  await waitFor('jobs-a holds the lease', async () => (await job(created.id)).lease?.workerId === 'jobs-a', 8000);
  await slow.kill('SIGKILL');
  await worker('jobs-b');
  const done = await waitFor('job completed', async () => {
    const j = await job(created.id);
    return j.status === 'completed' ? j : undefined;
  }, 10_000);
  assert.equal(done.completedBy, 'jobs-b');
  assert.ok(done.history.some((e) => e.event === 'lease_expired' && e.workerId === 'jobs-a'), JSON.stringify(done.history));
  assert.equal(done.result?.sampledRows, 40);
  assert.deepEqual(done.result?.columns?.country, { distinct: 4, nullFraction: 0 });
  assert.deepEqual(done.result?.columns?.amount, { distinct: 10, nullFraction: 0 });
  assert.deepEqual(done.result?.columns?.coupon, { distinct: 2, nullFraction: 0.2 });
});

test('a retention-sweep job runs through the tenant node, inside its lease and the tenant’s retention', async () => {
  // A worker sweeps only a tenant whose retentionDays asks for it (scoped service credentials).
  const patched = await fetch(plane.url('auth-gateway', '/admin/tenants/acme'), { method: 'PATCH', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ retentionDays: 30 }) });
  assert.equal(patched.status, 200, await patched.clone().text());
  const created = await enqueue('retention-sweep', { tenant: 'acme', table: 'events', before: Date.parse('2000-01-01T00:00:00Z') });
  const end = await waitFor('retention job finished', async () => {
    const j = await job(created.id);
    return j.status === 'completed' || j.status === 'failed' ? j : undefined;
  }, 10_000);
  assert.equal(end.status, 'completed', `retention sweep: ${end.error}`);
  assert.equal(end.completedBy, 'jobs-b');
  assert.equal(typeof end.result?.partitionsDropped, 'number');
  // The worker's call named its job and lease: the audit log says so.
  const audit = (await (await fetch(plane.url('auth-gateway', '/admin/audit?action=retention.sweep&tenant=acme'), { headers: admin })).json()) as {
    entries: Array<{ outcome: string; role: string; details?: { jobId?: string } }>;
  };
  assert.ok(audit.entries.some((e) => e.outcome === 'success' && e.role === 'service' && e.details?.jobId === created.id), JSON.stringify(audit.entries));

  // A sweep deeper than the tenant's retention fails the job for good (403 is not retried).
  const deep = await enqueue('retention-sweep', { tenant: 'acme', table: 'events', before: Date.now() - 86_400_000 });
  const refused = await waitFor('deep retention job finished', async () => {
    const j = await job(deep.id);
    return j.status === 'completed' || j.status === 'failed' ? j : undefined;
  }, 10_000);
  assert.equal(refused.status, 'failed');
  assert.match(String(refused.error), /403/);
});

test('SIGTERM deregisters the worker and exits 0', async () => {
  const w = workers.find((x) => x.logs().includes('"id": "jobs-b"'))!;
  assert.ok((await listWorkers(plane)).workers.some((x) => x.id === 'jobs-b'));
  assert.equal(await w.kill('SIGTERM'), 0);
  assert.ok(w.logs().includes('"deregistered"'), w.logs().slice(-500));
  assert.ok(!(await listWorkers(plane)).workers.some((x) => x.id === 'jobs-b'));
});
