// Read-after-write for SQL and DSL against the real process: a query sees
// every record acknowledged before it was received, at 1, 16 and 64
// concurrent ingest-then-count clients, on a brand-new table, behind a
// 500k-row applier backlog; with ClickHouse down the query answers 503
// not_fresh within QUERY_FRESHNESS_WAIT_MS (a warning, not a server fault) and
// succeeds once ClickHouse is back. "consistency": "eventual" never waits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { restartClickHouseServer, startClickHouseServer, type RunningClickHouseServer } from '../helpers/clickhouse-server.js';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';

const TENANT = 'raw';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Freshness {
  appliedLsn: number;
  requiredLsn: number;
  waitedMs: number;
}

function client(plane: RunningPlane, auth: Record<string, string>) {
  const post = async (service: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(plane.url(service, path), { method: 'POST', headers: { ...auth, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  return {
    ingest: async (table: string, records: unknown[]) => {
      const r = await post('tenant-node', `/data?table=${table}`, records);
      assert.equal(r.status, 201, r.text);
      return JSON.parse(r.text) as { accepted: number; lsn: number };
    },
    /** count() of a table, the three ways a client can ask: SQL on the Operation Node, DSL on the Tenant Node, NDJSON. */
    count: async (table: string, via: 'sql' | 'dsl' | 'ndjson', extra: Record<string, unknown> = {}) => {
      const r =
        via === 'dsl'
          ? await post('tenant-node', '/data/execute', { dsl: { table, aggregations: [{ fn: 'count', as: 'n' }] }, ...extra })
          : await post('operation-node', '/query/execute', { sql: `SELECT count() AS n FROM ${table}`, ...extra }, via === 'ndjson' ? { accept: 'application/x-ndjson' } : {});
      if (r.status !== 200) return { status: r.status, body: JSON.parse(r.text) as { error: { code: string; message: string; details: Record<string, number> } }, headers: r.headers };
      if (via === 'ndjson') {
        const m = /^appliedLsn=(\d+), requiredLsn=(\d+), waitedMs=([\d.]+)$/.exec(r.headers.get('x-query-freshness') ?? '');
        assert.ok(m, `X-Query-Freshness: ${r.headers.get('x-query-freshness')}`);
        const freshness = { appliedLsn: Number(m[1]), requiredLsn: Number(m[2]), waitedMs: Number(m[3]) };
        return { status: 200, n: (JSON.parse(r.text) as { n: number }).n, freshness };
      }
      const body = JSON.parse(r.text) as { rows: Array<{ n: number }>; freshness: Freshness };
      return { status: 200, n: body.rows[0]!.n, freshness: body.freshness };
    },
  };
}

/**
 * `clients` loops of: ingest one record (201), then count the table. Every
 * count must include every record acknowledged before the count was sent.
 */
async function ingestThenCount(c: ReturnType<typeof client>, table: string, clients: number, rounds: number) {
  let acknowledged = 0;
  const seen: Array<{ n: number; atLeast: number; freshness: Freshness; lsn: number }> = [];
  const ways = ['sql', 'dsl', 'ndjson'] as const;
  await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      for (let i = 0; i < rounds; i++) {
        const ack = await c.ingest(table, [{ data_id: `c${k}-${i}`, payload: { k, i } }]);
        acknowledged++;
        const atLeast = acknowledged;
        const r = await c.count(table, ways[(k + i) % ways.length]!);
        assert.equal(r.status, 200, JSON.stringify(r));
        seen.push({ n: r.n!, atLeast, freshness: r.freshness!, lsn: ack.lsn });
      }
    }),
  );
  for (const s of seen) {
    assert.ok(s.n >= s.atLeast, `a count of ${s.n} after ${s.atLeast} records were acknowledged`);
    assert.ok(s.freshness.requiredLsn >= s.lsn, `requiredLsn ${s.freshness.requiredLsn} < the client's own LSN ${s.lsn}`);
    assert.ok(s.freshness.appliedLsn >= s.freshness.requiredLsn);
  }
  assert.equal(seen.length, clients * rounds);
  return seen;
}

describe('read-after-write: embedded engine', () => {
  let plane: RunningPlane;
  let c: ReturnType<typeof client>;

  before(async () => {
    plane = await startPlane({
      env: {
        LOG_LEVEL: 'warn',
        INGEST_ROWS_PER_SECOND: '10000000',
        INGEST_BURST_ROWS: '10000000',
        QUERY_MAX_CONCURRENT_PER_TENANT: '128',
        // Long enough for the 500k-row backlog below to drain on a slow machine.
        QUERY_FRESHNESS_WAIT_MS: '120000',
        QUERY_TIMEOUT_MS: '120000',
      },
    });
    c = client(plane, { ...(await adminHeaders(plane)), 'x-tenant-id': TENANT });
  });
  after(async () => plane?.cleanup());

  it('the first query on a brand-new table answers 200 with its rows (SQL, DSL, EXPLAIN ANALYZE)', async () => {
    await c.ingest('brand_new', [{ data_id: 'a', payload: { v: 1 } }, { data_id: 'b', payload: { v: 2 } }]);
    const sql = await fetch(plane.url('operation-node', '/query/execute'), {
      method: 'POST',
      headers: { ...(await adminHeaders(plane)), 'x-tenant-id': TENANT, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT data_id, v FROM brand_new ORDER BY data_id' }),
    });
    const body = (await sql.json()) as { rows: unknown[]; freshness: Freshness };
    assert.equal(sql.status, 200, JSON.stringify(body));
    assert.deepEqual(body.rows, [{ data_id: 'a', v: 1 }, { data_id: 'b', v: 2 }]);
    assert.ok(body.freshness.waitedMs > 0, 'it had to wait for the applier');

    const { lsn } = await c.ingest('brand_new_dsl', [{ data_id: 'x', payload: { v: 1 } }]);
    const dsl = await c.count('brand_new_dsl', 'dsl');
    assert.equal(dsl.status, 200, JSON.stringify(dsl));
    assert.equal(dsl.n, 1);
    assert.ok(dsl.freshness!.requiredLsn >= lsn);

    await c.ingest('brand_new_explain', [{ data_id: 'x', payload: { v: 1 } }, { data_id: 'y', payload: { v: 2 } }, { data_id: 'z', payload: { v: 3 } }]);
    const explain = await fetch(plane.url('operation-node', '/query/plan'), {
      method: 'POST',
      headers: { ...(await adminHeaders(plane)), 'x-tenant-id': TENANT, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT data_id FROM brand_new_explain WHERE v > 1', analyze: true }),
    });
    const plan = (await explain.json()) as { analyze: { actualRows: number }; freshness: Freshness };
    assert.equal(explain.status, 200, JSON.stringify(plan));
    assert.equal(plan.analyze.actualRows, 2);
    assert.ok(plan.freshness.appliedLsn >= plan.freshness.requiredLsn);
  });

  for (const [clients, rounds] of [
    [1, 20],
    [16, 6],
    [64, 3],
  ] as const) {
    it(`ingest-then-count at ${clients} concurrent client(s) never sees fewer rows than were acknowledged`, async () => {
      await ingestThenCount(c, `loop_${clients}`, clients, rounds);
    });
  }

  it('"consistency": "eventual" answers at once, saying what it could not see yet', async () => {
    const { lsn } = await c.ingest('loop_1', [{ data_id: 'eventual-1', payload: {} }]);
    for (const way of ['sql', 'dsl'] as const) {
      const r = await c.count('loop_1', way, { consistency: 'eventual' });
      assert.equal(r.status, 200);
      assert.equal(r.freshness!.waitedMs, 0);
      assert.ok(r.freshness!.requiredLsn >= lsn);
    }
    // The DSL document may carry it too.
    const inDsl = await fetch(plane.url('tenant-node', '/data/execute'), {
      method: 'POST',
      headers: { ...(await adminHeaders(plane)), 'x-tenant-id': TENANT, 'content-type': 'application/json' },
      body: JSON.stringify({ dsl: { table: 'loop_1', aggregations: [{ fn: 'count' }], consistency: 'eventual' } }),
    });
    assert.equal(inDsl.status, 200);
    assert.equal(((await inDsl.json()) as { freshness: Freshness }).freshness.waitedMs, 0);
    const bad = await fetch(plane.url('operation-node', '/query/execute'), {
      method: 'POST',
      headers: { ...(await adminHeaders(plane)), 'x-tenant-id': TENANT, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT 1 FROM loop_1', consistency: 'sometimes' }),
    });
    assert.equal(bad.status, 400);
  });

  it('behind a 500k-row applier backlog, ingest-then-count at 16 clients still never sees fewer rows than were acknowledged', async () => {
    const batch = (b: number) => Array.from({ length: 50_000 }, (_, i) => ({ data_id: `b${b}-${i}`, payload: { i } }));
    for (let b = 0; b < 10; b++) await c.ingest('backlog', batch(b));
    const seen = await ingestThenCount(c, 'behind_backlog', 16, 3);
    assert.ok(
      seen.some((s) => s.freshness.waitedMs > 100),
      `no query waited behind the backlog (waits: ${seen.map((s) => s.freshness.waitedMs).join(', ')})`,
    );
    const all = await c.count('backlog', 'sql');
    assert.equal(all.n, 500_000);
  });
});

describe('read-after-write: ClickHouse server stopped', () => {
  let server: RunningClickHouseServer | undefined;
  let plane: RunningPlane;
  let skip: string | undefined;
  const BOUND_MS = 1500;

  before(async () => {
    const s = await startClickHouseServer();
    if ('skipped' in s) {
      skip = s.skipped;
      return;
    }
    server = s;
    plane = await startPlane({ env: { LOG_LEVEL: 'warn', CLICKHOUSE_URL: s.url, CLICKHOUSE_DATABASE: 'cp_raw', CLICKHOUSE_TIMEOUT_MS: '2000', QUERY_FRESHNESS_WAIT_MS: String(BOUND_MS) } });
  });
  after(async () => {
    await plane?.cleanup();
    await server?.stop();
  });

  it('the query answers 503 not_fresh within the bound, logged as a warning, and succeeds once ClickHouse is back', async (t) => {
    if (skip || !server) return t.skip(skip);
    const c = client(plane, { ...(await adminHeaders(plane)), 'x-tenant-id': TENANT });
    await c.ingest('events', [{ data_id: 'before', payload: {} }]);
    assert.equal((await c.count('events', 'sql')).n, 1);

    await server.kill();
    const { lsn } = await c.ingest('events', [{ data_id: 'during', payload: {} }]);
    const t0 = performance.now();
    const r = await c.count('events', 'sql');
    const took = performance.now() - t0;
    assert.equal(r.status, 503, JSON.stringify(r));
    assert.equal(r.body!.error.code, 'not_fresh');
    assert.match(r.body!.error.message, /applier has applied through LSN \d+ \(\d+ records, [\d.]+ s behind\)/);
    assert.ok(r.body!.error.details.requiredLsn! >= lsn);
    assert.ok(Number(r.headers!.get('retry-after')) >= 1, 'Retry-After');
    assert.ok(took >= BOUND_MS - 50 && took < BOUND_MS + 3000, `answered after ${Math.round(took)} ms, bound ${BOUND_MS} ms`);

    server = await restartClickHouseServer(server);
    let last: Awaited<ReturnType<typeof c.count>> | undefined;
    for (let i = 0; i < 60 && last?.status !== 200; i++) {
      last = await c.count('events', i % 2 ? 'dsl' : 'sql');
      if (last.status !== 200) {
        assert.equal(last.body!.error.code, 'not_fresh', JSON.stringify(last.body));
        await sleep(500);
      }
    }
    assert.equal(last?.status, 200, JSON.stringify(last));
    assert.equal(last.n, 2);

    // A warning, not an error; counted by its code, which the 5xx alert leaves out.
    const lines = plane
      .logs()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('not_fresh'))
      .map((l) => JSON.parse(l) as { level: number });
    assert.ok(lines.length > 0, 'the not_fresh answer is logged');
    assert.ok(lines.every((l) => l.level === 40), `not_fresh logged above warn: ${JSON.stringify(lines)}`);
    const metrics = await (await fetch(plane.url('monitoring', '/metrics'), { headers: await adminHeaders(plane) })).text();
    assert.match(metrics, /http_requests_total\{service="operation-node",route="\/query\/execute",method="POST",status="503",code="not_fresh"\} \d+/);
  });
});
