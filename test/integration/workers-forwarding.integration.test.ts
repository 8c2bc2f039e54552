// Forwarding to real reference workers (Python processes) from a real control
// plane in distributed mode: forwarded calls carry request id, trace and the
// caller; load spreads over workers; a worker SIGKILLed mid-load costs < 1 %
// of requests, its breaker opens and closes again when it comes back; a slow
// worker times out and the local implementation answers; a worker that does
// not serve the route is asked once and then left alone until it registers
// again; no worker status (401, 404, 5xx) ever reaches the client.
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
      QUERY_INTERPRETER_URL: `http://127.0.0.1:${portA},http://127.0.0.1:${portB}`,
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
  await worker(portA, 'wa', 'query-interpreter', ['--log-requests']);
  await worker(portB, 'wb', 'query-interpreter', ['--log-requests']);
  await waitFor('both workers registered and healthy', async () => {
    const l = await listWorkers(plane);
    const qi = l.forwarding['query-interpreter'] ?? [];
    return l.workers.length === 2 && qi.length === 2 && qi.every((e) => e.healthy && e.circuit === 'closed' && e.id.startsWith('w'));
  });
});

after(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await plane?.cleanup();
});

const SQL = 'SELECT country, count() AS n FROM events WHERE amount > 10 GROUP BY country';
const parse = (headers: Record<string, string> = {}, sql = SQL) =>
  fetch(plane.url('query-interpreter', '/parse/sql'), { method: 'POST', headers: { ...admin, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ sql }) });
const parseCount = () => metricValue(plane, 'worker_fallback_total', { service: 'query-interpreter', reason: 'unsupported' });

test('forwarded requests succeed, carry request id, trace and caller, and spread over workers', async () => {
  const seen = new Set<string>();
  const traceIds: string[] = [];
  for (let i = 0; i < 12; i++) {
    const traceId = `4bf92f3577b34da6a3ce929d0e0e${String(4700 + i).padStart(4, '0')}`;
    traceIds.push(traceId);
    const res = await parse({ 'x-request-id': `fwd-${i}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { ast: { kind: string; from: { table: string } } };
    assert.equal(body.ast.from.table, 'events');
    assert.equal(res.headers.get('x-request-id'), `fwd-${i}`);
    seen.add(res.headers.get('x-served-by')!);
  }
  assert.deepEqual([...seen].sort(), ['wa', 'wb']);
  // What the workers received: the request id, the trace continued, the caller named; never the caller's credential.
  const requests = workers
    .flatMap((w) => w.logs().split('\n'))
    .filter((l) => l.includes('"event": "request"'))
    .map((l) => JSON.parse(l) as { requestId: string; traceparent: string; principal: string });
  for (let i = 0; i < 12; i++) {
    const r = requests.find((x) => x.requestId === `fwd-${i}`);
    assert.ok(r, `worker saw fwd-${i}`);
    assert.ok(r.traceparent.includes(traceIds[i]!), `trace continues: ${r.traceparent}`);
    if (admin.authorization) assert.equal(r.principal, 'user:admin');
  }

  // A caller without a credential is refused before anything is forwarded.
  const anon = await fetch(plane.url('query-interpreter', '/parse/sql'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: SQL }) });
  assert.equal(anon.status, admin.authorization ? 401 : 200);
  // Bad SQL: the local implementation words the 400 (line and column), whoever was asked first.
  const bad = await parse({}, 'SELEC nope FROM');
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('x-served-by'), 'local');
  assert.deepEqual(((await bad.json()) as { error: { details: unknown } }).error.details, { line: 1, column: 1, near: 'SELEC' });
});

test('SIGKILL of a worker under load: < 1 % failed, breaker opens, closes when it returns', async () => {
  const pool = new Pool(plane.url('query-interpreter', ''), { connections: 8 });
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
          const r = await pool.request({ path: '/parse/sql', method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ sql: SQL }) });
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
  assert.ok((served.wa ?? 0) > 0 && (served.wb ?? 0) > 0, JSON.stringify(served));

  const breakerOf = () => metricValue(plane, 'worker_circuit_state', { service: 'query-interpreter', worker: 'wb' });
  await waitFor('wb breaker open (2) or half-open (1)', async () => ((await breakerOf()) ?? 0) >= 1, 5000);
  const health = (await (await fetch(plane.url('query-interpreter', '/health'))).json()) as { status: string; reasons?: string[] };
  assert.equal(health.status, 'degraded');
  assert.ok(health.reasons?.some((r) => r.includes('wb')), JSON.stringify(health));

  await worker(portB, 'wb', 'query-interpreter');
  await waitFor('wb breaker closed again', async () => (await breakerOf()) === 0, 8000);
  await waitFor('query-interpreter healthy again', async () => ((await (await fetch(plane.url('query-interpreter', '/health'))).json()) as { status: string }).status === 'ok', 5000);
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await parse();
    assert.equal(r.status, 200);
    seen.add(r.headers.get('x-served-by')!);
  }
  assert.ok(seen.has('wb'), `wb serves again: ${[...seen].join(',')}`);
});

test('a slow worker times out and the local implementation answers; with no worker at all too', async () => {
  // wa restarted slow: every answer takes 3 s, the call timeout is 400 ms. While it registers again, the
  // plane may still hold its previous forward token: the 401 it gets then is never what the client sees.
  for (const w of workers) await w.kill('SIGKILL');
  await worker(portA, 'wa', 'query-interpreter', ['--delay-ms', '3000']);
  await waitFor('slow wa registered', async () => (await listWorkers(plane)).workers.some((w) => w.id === 'wa' && w.status === 'up'));
  await waitFor('slow wa healthy', async () => (await listWorkers(plane)).forwarding['query-interpreter']?.find((e) => e.id === 'wa')?.healthy === true, 5000);
  const t0 = Date.now();
  const res = await parse();
  const elapsed = Date.now() - t0;
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-served-by'), 'local');
  assert.ok(((await res.json()) as { ast: { kind: string } }).ast.kind === 'select');
  assert.ok(elapsed < TIMEOUT_MS * 2 + 1000, `answered in ${elapsed} ms`);

  // No worker at all: local answers, health says why.
  for (const w of workers) await w.kill('SIGKILL');
  await waitFor('no usable worker', async () => (await listWorkers(plane)).forwarding['query-interpreter']!.every((e) => !e.healthy), 5000);
  const local = await parse();
  assert.equal(local.status, 200);
  assert.equal(local.headers.get('x-served-by'), 'local');
  const health = (await (await fetch(plane.url('query-interpreter', '/health'))).json()) as { status: string; reasons: string[] };
  assert.equal(health.status, 'degraded');
  assert.ok(health.reasons.some((r) => r.startsWith('no worker available')), JSON.stringify(health.reasons));
});

test('a worker that does not serve the route is asked once, then not again until it registers again', async () => {
  // Listed in QUERY_INTERPRETER_URL, but started for another service: it has no POST /parse/sql (404).
  const before = (await parseCount()) ?? 0;
  // (It registers, for the Tenant Node: the Query Interpreter knows the URL only from its setting.)
  const other = await worker(portA, 'wa', 'tenant-node');
  const urlA = `http://127.0.0.1:${portA}`;
  await waitFor('the worker at A healthy again', async () => (await listWorkers(plane)).forwarding['query-interpreter']?.find((e) => e.url === urlA)?.healthy === true, 8000);
  for (let i = 0; i < 6; i++) {
    const r = await parse();
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-served-by'), 'local');
  }
  assert.equal((await parseCount()) ?? 0, before + 1, 'asked once, counted once');
  const health = (await (await fetch(plane.url('query-interpreter', '/health'))).json()) as { reasons?: string[] };
  assert.ok(health.reasons?.some((r) => r.includes('is not sent POST /parse/sql until it registers again (HTTP 404)')), JSON.stringify(health));
  // The same process at that URL registers again, now for the Query Interpreter: it is asked again and serves.
  await other.kill('SIGKILL');
  await worker(portA, 'wa', 'query-interpreter');
  const served = await waitFor('wa serves /parse/sql again', async () => {
    const r = await parse();
    return r.headers.get('x-served-by') === 'wa' ? r : undefined;
  }, 8000);
  assert.equal(served.status, 200);
});
