// The query path over HTTP against the real process: the interpreter, CBO and
// operation-node routes, POST /data/execute, streaming formats, EXPLAIN, status,
// cancel; every hostile query is a 400 that never reaches the engine; and
// tenant isolation: no query of tenant A returns a row of tenant B.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromIPC } from 'apache-arrow';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';
import { HOSTILE_SQL } from '../helpers/hostile-sql.js';

const BASE = Date.UTC(2026, 9, 20);
const DAY = 86_400_000;

describe('query path over HTTP', () => {
  let plane: RunningPlane;
  let auth: Record<string, string>;

  const call = async (service: string, method: string, path: string, tenant: string | undefined, body?: unknown, extra: Record<string, string> = {}) => {
    const res = await fetch(plane.url(service, path), {
      method,
      headers: { ...auth, ...(tenant ? { 'X-Tenant-Id': tenant } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...extra },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return res;
  };
  const json = async (service: string, method: string, path: string, tenant: string | undefined, body?: unknown) => {
    const res = await call(service, method, path, tenant, body);
    // Response bodies are checked field by field below; a loose type keeps that readable.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const execute = (tenant: string, sql: string) => json('operation-node', 'POST', '/query/execute', tenant, { sql });

  before(async () => {
    plane = await startPlane({ env: { LOG_LEVEL: 'warn', APPLIER_INTERVAL_MS: '20', COLUMN_STATS_REFRESH_MS: '200' } });
    auth = await adminHeaders(plane);
    const rows = (tenant: string, n: number, hostile: boolean) =>
      Array.from({ length: n }, (_, i) => ({
        data_id: `e${i}`,
        timestamp: BASE + Math.floor((i / n) * 20 * DAY),
        payload: hostile ? { country: 'ZZ', amount: -1 - i, who: 'globex-secret' } : { country: ['NL', 'DE', 'FR', 'BE', 'US'][i % 5], amount: i % 100, who: `acme-${i % 7}` },
      }));
    for (const [tenant, n, hostile] of [['acme', 500, false], ['globex', 300, true]] as const) {
      const res = await call('tenant-node', 'POST', '/data', tenant, rows(tenant, n, hostile));
      assert.equal(res.status, 201, await res.text());
      const users = await call('tenant-node', 'POST', '/data?table=users', tenant, [{ data_id: 'NL', payload: { name: hostile ? 'globex-user' : 'Netherlands' } }, { data_id: 'DE', payload: { name: hostile ? 'globex-user' : 'Germany' } }]);
      assert.equal(users.status, 201);
    }
    // The query path reads what the applier has moved; wait until both tenants are there.
    for (const [tenant, table, n] of [['acme', 'events', 500], ['globex', 'events', 300], ['acme', 'users', 2], ['globex', 'users', 2]] as const) {
      for (let i = 0; ; i++) {
        const r = await execute(tenant, `SELECT count() AS n FROM ${table}`);
        if (r.status === 200 && r.body.rows[0].n === n) break;
        assert.ok(i < 200, `applier did not catch up: ${JSON.stringify(r.body)}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  });

  after(async () => {
    await plane?.cleanup();
  });

  it(`refuses all ${HOSTILE_SQL.length} hostile queries with 400 and runs none of them`, async () => {
    const before = (await json('operation-node', 'GET', '/nodes/status', undefined)).body.queries.started;
    for (const h of HOSTILE_SQL) {
      for (const [service, path] of [['operation-node', '/query/execute'], ['tenant-node', '/data/execute']]) {
        const r = await json(service!, 'POST', path!, 'acme', { sql: h.sql });
        assert.equal(r.status, 400, `${h.why} on ${path}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'invalid_query', h.why);
      }
    }
    const afterCount = (await json('operation-node', 'GET', '/nodes/status', undefined)).body.queries.started;
    assert.equal(afterCount, before, 'a refused query must never be registered or executed');
  });

  it('tenant isolation: no query of acme returns a row of globex, and the reverse', async () => {
    const probes = [
      'SELECT * FROM events',
      'SELECT * FROM users',
      'SELECT who, country, count() AS n, sum(amount) AS s FROM events GROUP BY who, country',
      'SELECT e.data_id, e.who, u.name FROM events e LEFT JOIN users u ON e.country = u.data_id',
      "SELECT data_id, who FROM events WHERE who LIKE '%globex%' OR country = 'ZZ' OR amount < 0",
      'SELECT DISTINCT who FROM events',
    ];
    for (const sql of probes) {
      const a = await execute('acme', sql);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      const text = JSON.stringify(a.body.rows);
      assert.ok(!/globex|ZZ/.test(text), `acme saw globex data with: ${sql}`);
      const g = await execute('globex', sql);
      assert.equal(g.status, 200);
      assert.ok(!/acme-|Netherlands/.test(JSON.stringify(g.body.rows)), `globex saw acme data with: ${sql}`);
    }
    const count = await execute('acme', 'SELECT count() AS n FROM events');
    assert.equal(count.body.rows[0].n, 500);
    for (const sql of ['SELECT * FROM globex__events', 'SELECT * FROM `acme__events`', 'SELECT * FROM control_plane.globex__events']) {
      const r = await execute('acme', sql);
      assert.equal(r.status, 400, sql);
    }
    const dsl = await json('tenant-node', 'POST', '/data/execute', 'acme', { dsl: { table: 'events', filter: { column: 'country', op: 'eq', value: 'ZZ' }, aggregations: [{ fn: 'count' }] } });
    assert.equal(dsl.status, 200);
    assert.equal(dsl.body.rows[0].count, 0);
  });

  it('interpreter routes: AST, DSL, validation with line and column, logical plan', async () => {
    const ast = await json('query-interpreter', 'POST', '/parse/sql', undefined, { sql: 'SELECT country, count() FROM events GROUP BY country' });
    assert.equal(ast.status, 200);
    assert.equal(ast.body.ast.kind, 'select');
    const dsl = await json('query-interpreter', 'POST', '/parse/dsl', undefined, { table: 'events', groupBy: ['country'], aggregations: [{ fn: 'count' }] });
    assert.equal(dsl.body.ast.from.table, 'events');
    const bad = await json('query-interpreter', 'POST', '/validate/query', 'acme', { sql: 'SELECT country,\n  nope FROM events' });
    assert.equal(bad.status, 400);
    assert.deepEqual([bad.body.error.details.line, bad.body.error.details.column], [2, 3]);
    const ok = await json('query-interpreter', 'POST', '/validate/query', 'acme', { sql: 'SELECT country, sum(amount) AS s FROM events GROUP BY country' });
    assert.deepEqual(ok.body.columns, [{ name: 'country', type: 'String' }, { name: 's', type: 'Float64' }]);
    const plan = await json('query-interpreter', 'POST', '/transform/plan', 'acme', { sql: 'SELECT country FROM events WHERE amount > 5 ORDER BY country LIMIT 3' });
    assert.equal(plan.body.logical.op, 'limit');
    assert.equal(plan.body.logical.input.op, 'sort');
  });

  it('CBO routes: physical plan with estimates, stats, validated config', async () => {
    const opt = await json('cbo-engine', 'POST', '/optimize/query', 'acme', { sql: `SELECT count() FROM events WHERE ts_ms >= ${BASE + 15 * DAY}` });
    assert.equal(opt.status, 200, JSON.stringify(opt.body));
    assert.ok(opt.body.partitions.pruned > 0);
    const scan = opt.body.physical.children[0].children[0];
    assert.equal(scan.op, 'scan');
    assert.ok(scan.estRows > 0 && scan.cost > 0);
    const stats = await json('cbo-engine', 'GET', '/optimize/stats', undefined);
    assert.ok(stats.body.plans > 0 && stats.body.partitionsPruned > 0);
    // Column statistics are recomputed in the background once the applier has changed a table.
    for (let i = 0; i < 100 && (await json('cbo-engine', 'GET', '/optimize/stats', undefined)).body.statsRefreshes < 4; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok((await json('cbo-engine', 'GET', '/optimize/stats', undefined)).body.statsRefreshes >= 4, 'stats of 2 tables × 2 tenants computed');
    const cfg = await json('cbo-engine', 'GET', '/optimize/config', undefined);
    assert.equal(cfg.body.weights.clickhouseRowCost, 1);
    const put = await json('cbo-engine', 'PUT', '/optimize/config', undefined, { parquetFileCost: 10 });
    assert.equal(put.body.weights.parquetFileCost, 10);
    for (const badBody of [{ parquetFileCost: -1 }, { nope: 1 }, { defaultSelectivity: 2 }, {}]) {
      assert.equal((await json('cbo-engine', 'PUT', '/optimize/config', undefined, badBody)).status, 400, JSON.stringify(badBody));
    }
  });

  it('execute streams NDJSON and Arrow IPC on Accept', async () => {
    const nd = await call('operation-node', 'POST', '/query/execute', 'acme', { sql: 'SELECT data_id, amount FROM events ORDER BY data_id' }, { Accept: 'application/x-ndjson' });
    assert.equal(nd.status, 200);
    assert.match(nd.headers.get('content-type') ?? '', /ndjson/);
    assert.ok(nd.headers.get('x-query-id'));
    const lines = (await nd.text()).trim().split('\n');
    assert.equal(lines.length, 500);
    assert.deepEqual(Object.keys(JSON.parse(lines[0]!)), ['data_id', 'amount']);
    const ar = await call('operation-node', 'POST', '/query/execute', 'acme', { sql: 'SELECT data_id, amount, lsn FROM events' }, { Accept: 'application/vnd.apache.arrow.stream' });
    assert.equal(ar.status, 200);
    const table = tableFromIPC(new Uint8Array(await ar.arrayBuffer()));
    assert.equal(table.numRows, 500);
    assert.deepEqual(table.schema.fields.map((f) => f.name), ['data_id', 'amount', 'lsn']);
  });

  it('EXPLAIN (GET and POST, analyze), status, running list, cancel and nodes', async () => {
    const g = await json('operation-node', 'GET', `/query/plan?sql=${encodeURIComponent('SELECT country, count() FROM events GROUP BY country')}`, 'acme');
    assert.equal(g.status, 200);
    assert.ok(g.body.logical && g.body.physical && g.body.sql);
    const a = await json('operation-node', 'POST', '/query/plan', 'acme', { sql: 'SELECT e.country, count() AS n FROM events e JOIN users u ON e.country = u.data_id GROUP BY e.country', analyze: true });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.ok(a.body.analyze.qErrors.length >= 4);
    assert.equal(a.body.analyze.actualRows, 2);

    const done = await execute('acme', 'SELECT count() FROM events');
    const st = await json('operation-node', 'GET', `/query/status?id=${done.body.queryId}`, 'acme');
    assert.equal(st.body.state, 'finished');
    assert.equal(st.body.rows, 1);
    assert.equal((await json('operation-node', 'GET', `/query/status?id=${done.body.queryId}`, 'globex')).status, 404, 'another tenant cannot see it');

    const slow = 'SELECT count() FROM events a JOIN events b ON a.country = b.country JOIN events c ON b.country = c.country JOIN events d ON c.country = d.country JOIN events e ON d.country = e.country';
    const pending = execute('acme', slow);
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 30));
      const list = await json('operation-node', 'GET', '/query/running', 'acme');
      id = list.body.queries[0]?.id;
    }
    assert.ok(id, 'the slow query shows up as running');
    assert.equal((await json('operation-node', 'DELETE', `/query/${id}`, 'globex')).status, 404, 'another tenant cannot cancel it');
    const cancel = await json('operation-node', 'DELETE', `/query/${id}`, 'acme');
    assert.equal(cancel.status, 200);
    assert.equal(cancel.body.state, 'cancelled');
    const res = await pending;
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'query_cancelled');

    const timeout = await json('operation-node', 'POST', '/query/execute', 'acme', { sql: slow, timeoutMs: 100 });
    assert.equal(timeout.status, 504);
    assert.equal(timeout.body.error.code, 'query_timeout');

    const nodes = await json('operation-node', 'GET', '/nodes/status', undefined);
    assert.equal(nodes.body.engines[0].name, 'clickhouse');
    assert.equal(nodes.body.engines[0].healthy, true);
    assert.ok('workers' in nodes.body);
  });
});
