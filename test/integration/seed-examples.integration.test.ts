// The quick-start requests of the storage control plane this product grew
// from, as its README wrote them: log in, then with the bearer token run a
// query and parse one with {"query": "..."} bodies, and ask every service's
// /health (which now also says the time). All succeed against the real process.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPlane, TEST_ADMIN_PASSWORD, TEST_ADMIN_USERNAME, type RunningPlane } from '../helpers/control-plane-process.js';

let plane: RunningPlane;
let bearer: Record<string, string>;

before(async () => {
  plane = await startPlane({ env: { LOG_LEVEL: 'warn' } });
});
after(async () => plane?.cleanup());

const post = (service: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(plane.url(service, path), { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('login answers a bearer token', async () => {
  const res = await post('auth-gateway', '/auth/login', { username: TEST_ADMIN_USERNAME, password: TEST_ADMIN_PASSWORD });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { access_token: string; token_type: string };
  assert.equal(body.token_type, 'Bearer');
  bearer = { Authorization: `Bearer ${body.access_token}` };
  // A tenant with one record to query (the seed had its data; a fresh instance has none).
  assert.equal((await post('auth-gateway', '/admin/tenants', { id: 'acme' }, bearer)).status, 201);
  const ingest = await post('tenant-node', '/data', { data_id: 'order-1', payload: { amount: 42.5, country: 'NL' } }, { ...bearer, 'X-Tenant-Id': 'acme' });
  assert.equal(ingest.status, 201);
  // Queries read ClickHouse: wait for the applier to move the record there.
  for (let i = 0; ; i++) {
    const t = (await (await fetch(plane.url('metadata-catalog', '/metadata/tables'), { headers: { ...bearer, 'X-Tenant-Id': 'acme' } })).json()) as { tables: Array<{ rowCount: number }> };
    if (t.tables[0]?.rowCount === 1) break;
    assert.ok(i < 200, 'the record was not applied within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('POST /query/execute with {"query": ...}', async () => {
  const res = await post('operation-node', '/query/execute', { query: 'SELECT data_id, amount, country FROM events' }, { ...bearer, 'X-Tenant-Id': 'acme' });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { rows: Array<{ data_id: string; amount: number; country: string }> };
  assert.deepEqual(body.rows, [{ data_id: 'order-1', amount: 42.5, country: 'NL' }]);
  // And EXPLAIN, validation and the optimizer take the same body.
  assert.equal((await post('operation-node', '/query/plan', { query: 'SELECT count() FROM events' }, { ...bearer, 'X-Tenant-Id': 'acme' })).status, 200);
  assert.equal((await post('query-interpreter', '/validate/query', { query: 'SELECT amount FROM events' }, { ...bearer, 'X-Tenant-Id': 'acme' })).status, 200);
  assert.equal((await post('cbo-engine', '/optimize/query', { query: 'SELECT amount FROM events' }, { ...bearer, 'X-Tenant-Id': 'acme' })).status, 200);
  const plan = await fetch(plane.url('operation-node', `/query/plan?query=${encodeURIComponent('SELECT count() FROM events')}`), { headers: { ...bearer, 'X-Tenant-Id': 'acme' } });
  assert.equal(plan.status, 200);
});

test('POST /parse/sql with {"query": ...}', async () => {
  const res = await post('query-interpreter', '/parse/sql', { query: 'SELECT * FROM events WHERE amount > 10' }, bearer);
  assert.equal(res.status, 200, await res.clone().text());
  const { ast } = (await res.json()) as { ast: { star: boolean; from: { table: string }; where: { op: string } } };
  assert.deepEqual([ast.star, ast.from.table, ast.where.op], [true, 'events', '>']);
});

test('giving both sql and query is a 400 naming query', async () => {
  for (const [service, path] of [['operation-node', '/query/execute'], ['query-interpreter', '/parse/sql'], ['cbo-engine', '/optimize/query']] as const) {
    const res = await post(service, path, { sql: 'SELECT 1 FROM events', query: 'SELECT 1 FROM events' }, { ...bearer, 'X-Tenant-Id': 'acme' });
    assert.equal(res.status, 400, path);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'validation_failed');
    assert.match(error.message, /^query: give "sql" or its alias "query", not both$/);
  }
});

test('GET /health on all seven ports, with the bearer token: ok, and the time in ISO-8601', async () => {
  assert.equal(Object.keys(plane.ports).length, 7);
  for (const service of Object.keys(plane.ports)) {
    const before = Date.now();
    const res = await fetch(plane.url(service, '/health'), { headers: bearer });
    assert.equal(res.status, 200, service);
    const body = (await res.json()) as { status: string; service: string; time: string };
    assert.equal(body.status, 'ok');
    assert.equal(body.service, service);
    assert.match(body.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(body.time) - before) < 5000, body.time);
  }
});
