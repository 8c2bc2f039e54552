// Jobs through real reference workers: a column-stats job whose worker is
// SIGKILLed mid-lease is completed by another worker (statistics computed from
// a sample read through the control plane, then used by the optimizer); a
// retention sweep; an unknown job type or a bad payload is a 400; callbacks
// need a service credential; SIGTERM deregisters a worker cleanly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import type { ColumnStat } from '../../src/catalog/column-stats-sink.js';
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
  result?: { columns?: Record<string, ColumnStat>; sampledRows?: number; tableRows?: number; partitionsDropped?: number };
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
  // A skewed table: k is 'a' in 30 of 40 rows.
  const skewed = Array.from({ length: 40 }, (_, i) => ({ data_id: `s${i}`, payload: { k: i < 30 ? 'a' : i < 35 ? 'b' : 'c' } }));
  const res2 = await fetch(plane.url('tenant-node', '/data?table=skew'), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(skewed) });
  assert.equal(res2.status, 201, await res2.text());
  // A sample is read from ClickHouse: wait until the applier put both tables there.
  await waitFor('both tables applied', async () => {
    const t = (await (await fetch(plane.url('metadata-catalog', '/metadata/tables'), { headers })).json()) as { tables: Array<{ table: string; rowCount: number }> };
    return t.tables.filter((x) => x.rowCount === 40).length === 2;
  }, 20_000);
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
  // ...nor take job types the registry does not know.
  const unknownType = await fetch(plane.url('operation-node', '/workers/register'), {
    method: 'POST',
    headers: svc,
    body: JSON.stringify({ service: 'cbo-engine', url: 'http://127.0.0.1:1', jobTypes: ['mine-bitcoin'] }),
  });
  assert.equal(unknownType.status, 400);
});

test('enqueueing an unknown job type or a payload that does not fit is a 400, and queues nothing', async () => {
  const before = ((await (await fetch(plane.url('operation-node', '/jobs'), { headers: admin })).json()) as { jobs: unknown[] }).jobs.length;
  for (const body of [
    { type: 'mine-bitcoin', payload: { tenant: 'acme' } },
    { type: 'column-stats', payload: {} },
    { type: 'column-stats', payload: { tenant: 'acme', sampleRows: 0 } },
    { type: 'retention-sweep', payload: { tenant: 'acme' } },
  ]) {
    const res = await fetch(plane.url('operation-node', '/jobs'), { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'validation_failed');
  }
  const after = ((await (await fetch(plane.url('operation-node', '/jobs'), { headers: admin })).json()) as { jobs: unknown[] }).jobs.length;
  assert.equal(after, before);
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
  // Statistics of the whole sample: the table has 40 rows, all sampled.
  assert.equal(done.result?.sampledRows, 40);
  assert.equal(done.result?.tableRows, 40);
  const cols = done.result!.columns!;
  const quarter = (value: string) => ({ value, frequency: 0.25 });
  assert.deepEqual(cols.country, { kind: 'string', distinct: 4, distinctEstimate: 4, nullFraction: 0, min: 'DE', max: 'US', mcv: ['DE', 'FR', 'NL', 'US'].map(quarter) });
  assert.equal(cols.amount!.kind, 'numeric');
  assert.deepEqual([cols.amount!.distinct, cols.amount!.nullFraction, cols.amount!.min, cols.amount!.max], [10, 0, 0, 9]);
  assert.deepEqual(cols.amount!.mcv, Array.from({ length: 10 }, (_, v) => ({ value: v, frequency: 0.1 })));
  assert.deepEqual(cols.amount!.histogram, { bounds: [0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9] }, 'equi-depth: four values per bucket');
  assert.deepEqual(cols.coupon, { kind: 'string', distinct: 2, distinctEstimate: 2, nullFraction: 0.2, min: 'c0', max: 'c1', mcv: [{ value: 'c0', frequency: 0.4 }, { value: 'c1', frequency: 0.4 }] });
  assert.equal(cols.data_id!.distinct, 40);
  assert.equal(cols.data_id!.mcv, undefined, 'unique values are not common');
  // One request: one arrival time for all 40, so one value and no histogram to draw.
  assert.deepEqual([cols.ts_ms!.kind, cols.ts_ms!.distinct, cols.ts_ms!.min === cols.ts_ms!.max, cols.ts_ms!.histogram], ['time', 1, true, undefined]);
});

test('the optimizer estimates with a worker’s statistics: a common value takes its measured share', async () => {
  const created = await enqueue('column-stats', { tenant: 'acme', table: 'skew' });
  const done = await waitFor('skew stats', async () => {
    const j = await job(created.id);
    return j.status === 'completed' ? j : undefined;
  }, 10_000);
  assert.deepEqual(done.result?.columns?.k?.mcv, [{ value: 'a', frequency: 0.75 }, { value: 'b', frequency: 0.125 }, { value: 'c', frequency: 0.125 }]);
  const estimate = async (value: string) => {
    const res = await fetch(plane.url('cbo-engine', '/optimize/query'), {
      method: 'POST',
      headers: { ...admin, 'x-tenant-id': 'acme', 'content-type': 'application/json' },
      body: JSON.stringify({ query: `SELECT data_id FROM skew WHERE k = '${value}'` }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { estimatedRows: number }).estimatedRows;
  };
  // Without them, three distinct values would give each a third (13.3 rows); the worker measured 30 and 5.
  await waitFor('estimates from the worker’s statistics', async () => Math.abs((await estimate('a')) - 30) < 0.5, 10_000, 200);
  assert.ok(Math.abs((await estimate('b')) - 5) < 0.5);
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
