// Forwarding to real reference workers (Python processes) from a real control
// plane in distributed mode: forwarded calls carry request id, trace and
// tenant; load spreads over workers; a worker SIGKILLed mid-load costs < 1 %
// of requests, its breaker opens and closes again when it comes back; with no
// worker the local implementation answers (or a 503 where there is none); a
// slow worker times out instead of hanging the client.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pool } from 'undici';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';
import { freePort, listWorkers, metricValue, serviceToken, startWorker, waitFor, type RunningWorker } from './workers-helpers.js';

const TIMEOUT_MS = 400;
let plane: RunningPlane;
let token: Record<string, string>;
let admin: Record<string, string>;
let portA: number;
let portB: number;
const workers: RunningWorker[] = [];

async function worker(port: number, id: string, services: string, extra: string[] = []): Promise<RunningWorker> {
  const w = await startWorker(['--port', String(port), '--id', id, '--service', services, '--control-plane', plane.url('operation-node', ''), ...extra], token);
  workers.push(w);
  return w;
}

before(async () => {
  portA = await freePort();
  portB = await freePort();
  plane = await startPlane({
    env: {
      LOG_LEVEL: 'warn',
      DISTRIBUTED_MODE: 'true',
      TENANT_NODE_URL: `http://127.0.0.1:${portA},http://127.0.0.1:${portB}`,
      QUERY_INTERPRETER_URL: `http://127.0.0.1:${portA}`,
      WORKER_TIMEOUT_MS: String(TIMEOUT_MS),
      WORKER_RETRIES: '1',
      WORKER_HEALTH_INTERVAL_MS: '150',
      WORKER_BREAKER_FAILURES: '2',
      WORKER_BREAKER_OPEN_MS: '500',
      WORKER_HEARTBEAT_TTL_MS: '10000',
    },
  });
  token = await serviceToken(plane);
  admin = await adminHeaders(plane);
  await worker(portA, 'wa', 'tenant-node,query-interpreter');
  await worker(portB, 'wb', 'tenant-node');
  await waitFor('both workers registered and healthy', async () => {
    const l = await listWorkers(plane);
    const tn = l.forwarding['tenant-node'] ?? [];
    return l.workers.length === 3 && tn.length === 2 && tn.every((e) => e.healthy && e.circuit === 'closed');
  });
});

after(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await plane?.cleanup();
});

const statsHeaders = () => ({ ...admin, 'x-tenant-id': 'acme' });

test('forwarded requests succeed, carry request id, trace and tenant, and spread over workers', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const traceId = `4bf92f3577b34da6a3ce929d0e0e${String(4700 + i).padStart(4, '0')}`;
    const res = await fetch(plane.url('tenant-node', '/data/stats'), {
      headers: { ...statsHeaders(), 'x-request-id': `fwd-${i}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { tenant: string; servedBy: string; worker: { requestId: string; traceparent: string } };
    const servedBy = res.headers.get('x-served-by')!;
    seen.add(servedBy);
    assert.equal(body.tenant, 'acme');
    assert.equal(body.worker.requestId, `fwd-${i}`);
    assert.ok(body.worker.traceparent.includes(traceId), `trace continues: ${body.worker.traceparent}`);
    assert.ok(servedBy.startsWith(body.servedBy), `${servedBy} vs ${body.servedBy}`);
  }
  assert.deepEqual([...seen].sort(), ['wa.tenant-node', 'wb']);

  const parse = await fetch(plane.url('query-interpreter', '/parse/sql'), {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT a FROM events' }),
  });
  assert.equal(parse.status, 200);
  assert.equal(parse.headers.get('x-served-by'), 'wa.query-interpreter');

  // A caller without a credential is refused before anything is forwarded.
  assert.equal((await fetch(plane.url('tenant-node', '/data/stats'), { headers: { 'x-tenant-id': 'acme' } })).status, admin.authorization ? 401 : 200);
});

test('SIGKILL of a worker under load: < 1 % failed, breaker opens, closes when it returns', async () => {
  const pool = new Pool(plane.url('tenant-node', ''), { connections: 8 });
  let ok = 0;
  let failed = 0;
  const served: Record<string, number> = {};
  const failures: string[] = [];
  const deadline = Date.now() + 2500;
  const killer = setTimeout(() => void workers.find((w) => w.port === portB)!.kill('SIGKILL'), 600);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < deadline) {
        try {
          const r = await pool.request({ path: '/data/stats', method: 'GET', headers: statsHeaders() });
          const text = await r.body.text();
          if (r.statusCode === 200) {
            ok++;
            const by = String(r.headers['x-served-by']);
            served[by] = (served[by] ?? 0) + 1;
          } else {
            failed++;
            failures.push(`${r.statusCode} ${text.slice(0, 200)}`);
          }
        } catch (err) {
          failed++;
          failures.push(String(err));
        }
      }
    }),
  );
  clearTimeout(killer);
  await pool.close();
  const total = ok + failed;
  assert.ok(total > 200, `enough load: ${total}`);
  assert.ok(failed / total < 0.01, `failed ${failed} of ${total}: ${failures.slice(0, 3).join(' | ')}`);
  assert.ok((served['wa.tenant-node'] ?? 0) > 0 && (served.wb ?? 0) > 0, JSON.stringify(served));

  const breakerOf = () => metricValue(plane, 'worker_circuit_state', { service: 'tenant-node', worker: 'wb' });
  await waitFor('wb breaker open (2) or half-open (1)', async () => ((await breakerOf()) ?? 0) >= 1, 5000);
  const health = (await (await fetch(plane.url('tenant-node', '/health'))).json()) as { status: string; reasons?: string[] };
  assert.equal(health.status, 'degraded');
  assert.ok(health.reasons?.some((r) => r.includes('wb')), JSON.stringify(health));

  await worker(portB, 'wb', 'tenant-node');
  await waitFor('wb breaker closed again', async () => (await breakerOf()) === 0, 8000);
  await waitFor('tenant-node healthy again', async () => ((await (await fetch(plane.url('tenant-node', '/health'))).json()) as { status: string }).status === 'ok', 5000);
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await fetch(plane.url('tenant-node', '/data/stats'), { headers: statsHeaders() });
    assert.equal(r.status, 200);
    seen.add(r.headers.get('x-served-by')!);
  }
  assert.ok(seen.has('wb'), `wb serves again: ${[...seen].join(',')}`);
});

test('a slow worker times out instead of hanging; with no worker the local implementation answers', async () => {
  // wa restarted slow: every answer takes 3 s, the call timeout is 400 ms.
  await workers.find((w) => w.port === portA)!.kill('SIGKILL');
  await worker(portA, 'wa', 'tenant-node,query-interpreter', ['--delay-ms', '3000']);
  await waitFor('slow wa registered', async () => (await listWorkers(plane)).workers.some((w) => w.id === 'wa.query-interpreter' && w.status === 'up'));
  await waitFor('slow wa healthy', async () => (await listWorkers(plane)).forwarding['query-interpreter']?.[0]?.healthy === true, 5000);
  const t0 = Date.now();
  const res = await fetch(plane.url('query-interpreter', '/parse/sql'), {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT 1' }),
  });
  const elapsed = Date.now() - t0;
  const body = (await res.json()) as { error?: { code: string } };
  // Without a local /parse/sql: 504 upstream_timeout; with one (the SQL work), the local answer after the timeout.
  if (res.headers.get('x-served-by') === 'local') assert.ok(res.status < 500);
  else {
    assert.equal(res.status, 504);
    assert.equal(body.error?.code, 'upstream_timeout');
  }
  assert.ok(elapsed < TIMEOUT_MS * 2 + 1000, `answered in ${elapsed} ms`);

  // No worker at all for tenant-node: local answers, health says why.
  for (const w of workers) await w.kill('SIGKILL');
  await waitFor('no usable tenant-node worker', async () => (await listWorkers(plane)).forwarding['tenant-node']!.every((e) => !e.healthy), 5000);
  const local = await fetch(plane.url('tenant-node', '/data/stats'), { headers: statsHeaders() });
  assert.equal(local.status, 200);
  assert.equal(local.headers.get('x-served-by'), 'local');
  const health = (await (await fetch(plane.url('tenant-node', '/health'))).json()) as { status: string; reasons: string[] };
  assert.equal(health.status, 'degraded');
  assert.ok(health.reasons.some((r) => r.startsWith('no worker available')), JSON.stringify(health.reasons));
  // /parse/sql has no worker left: 503 JSON where there is no local implementation.
  const none = await fetch(plane.url('query-interpreter', '/parse/sql'), {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT 1' }),
  });
  if (none.headers.get('x-served-by') !== 'local') {
    assert.ok([503, 502].includes(none.status), `status ${none.status}`);
    assert.match(((await none.json()) as { error: { code: string } }).error.code, /^upstream_/);
  }
});
