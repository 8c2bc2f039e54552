// Tenant isolation by construction (issue 12): (tenant, table) pairs that the old
// physical naming joined into one name (`acme__x`+`y` and `acme`+`x__y` were
// both the table `acme__x__y`), or that a character mapping would (`a-b` and
// `a_b`), each write rows with the SAME data_ids through POST /data with their
// own tenant's key. Every read route must then show each tenant exactly its own
// rows: GET /data (JSON pages and NDJSON), POST /query/execute and
// /data/execute (SQL and DSL), GET /metadata/tables, /metadata/partitions,
// /metadata/indexes, /metadata/stats, GET /data/stats and EXPLAIN ANALYZE.
// On the embedded engine the queries run twice: from ClickHouse and from the
// Parquet files. Then the same against a real clickhouse-server (18.16).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';

const DAY = 86_400_000;
const BASE_TS = Date.UTC(2026, 2, 1);

interface Pair {
  tenant: string;
  table: string;
  rows: number;
}

// Distinct row counts and days per pair, so a mixed answer cannot look right by accident.
const PAIRS: Pair[] = [
  { tenant: 'acme__x', table: 'y', rows: 3 },
  { tenant: 'acme', table: 'x__y', rows: 4 },
  { tenant: 'a-b', table: 'events', rows: 5 },
  { tenant: 'a_b', table: 'events', rows: 6 },
];

const owner = (p: Pair) => `${p.tenant}/${p.table}`;
const ids = (p: Pair) => Array.from({ length: p.rows }, (_, i) => `same-${i}`);
const dayOf = (p: Pair) => new Date(BASE_TS + PAIRS.indexOf(p) * DAY).toISOString().slice(0, 10);

// Response bodies are checked field by field; a loose type keeps that readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** Exactly the pair's own rows: its ids once each, and every row says it is the pair's. */
function assertOwnRows(p: Pair, rows: Json[], where: string): void {
  const got = rows.map((r) => String(r.data_id)).sort();
  assert.deepEqual(got, ids(p), `${where}: ${owner(p)} got ids ${JSON.stringify(got)}`);
  for (const r of rows) {
    const o = r.owner ?? r.payload?.owner;
    assert.equal(o, owner(p), `${where}: ${owner(p)} got a row of ${String(o)}: ${JSON.stringify(r)}`);
  }
}

function isolation(name: string, skip: string | false, env: () => Record<string, string>, embedded: boolean): void {
  describe(`tenant isolation of colliding names: ${name}`, { skip }, () => {
    let plane: RunningPlane;
    const keys = new Map<string, Record<string, string>>();

    const call = async (p: Pair, service: string, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
      const res = await fetch(plane.url(service, path), {
        method,
        headers: { ...keys.get(p.tenant)!, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return res;
    };
    const json = async (p: Pair, service: string, method: string, path: string, body?: unknown): Promise<Json> => {
      const res = await call(p, service, method, path, body);
      const text = await res.text();
      assert.equal(res.status, 200, `${method} ${path} as ${p.tenant}: ${res.status} ${text}`);
      return JSON.parse(text) as Json;
    };
    const ndjson = async (p: Pair, service: string, method: string, path: string, body?: unknown): Promise<Json[]> => {
      const res = await call(p, service, method, path, body, { accept: 'application/x-ndjson' });
      const text = await res.text();
      assert.equal(res.status, 200, `${method} ${path} as ${p.tenant}: ${res.status} ${text}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
    };
    const setWeights = async (weights: Record<string, unknown>) => {
      const res = await fetch(plane.url('cbo-engine', '/optimize/config'), {
        method: 'PUT',
        headers: { ...(await adminHeaders(plane)), 'content-type': 'application/json' },
        body: JSON.stringify(weights),
      });
      assert.equal(res.status, 200, await res.text());
    };

    before(async () => {
      plane = await startPlane({ env: { LOG_LEVEL: 'warn', APPLIER_INTERVAL_MS: '20', ...env() } });
      for (const p of PAIRS) keys.set(p.tenant, (await tenantKeyHeaders(plane, p.tenant)).headers);
      for (const p of PAIRS) {
        const rows = ids(p).map((id, i) => ({ data_id: id, timestamp: BASE_TS + PAIRS.indexOf(p) * DAY + i * 1000, payload: { owner: owner(p), n: i } }));
        const res = await call(p, 'tenant-node', 'POST', `/data?table=${p.table}`, rows);
        assert.equal(res.status, 201, await res.text());
      }
      // The catalog counts rows once the applier has put them in both sinks.
      for (const p of PAIRS) {
        for (let i = 0; ; i++) {
          const stats = await json(p, 'tenant-node', 'GET', '/data/stats');
          if (stats.rows === p.rows && stats.pendingRows === 0) break;
          assert.ok(i < 400, `applier did not catch up for ${owner(p)}: ${JSON.stringify(stats)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });

    after(async () => {
      await plane?.cleanup();
    });

    it('GET /data: JSON pages (cursor) and NDJSON show each tenant only its own rows', async () => {
      for (const p of PAIRS) {
        const rows: Json[] = [];
        let cursor: string | null = null;
        for (let page = 0; page < 10; page++) {
          const body: Json = await json(p, 'tenant-node', 'GET', `/data?table=${p.table}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          rows.push(...(body.records as Json[]));
          cursor = body.next_cursor as string | null;
          if (!cursor) break;
        }
        assertOwnRows(p, rows, 'GET /data (JSON)');
        assertOwnRows(p, await ndjson(p, 'tenant-node', 'GET', `/data?table=${p.table}&limit=1000`), 'GET /data (NDJSON)');
        for (const id of ids(p)) {
          const one = await json(p, 'tenant-node', 'GET', `/data?table=${p.table}&data_id=${id}`);
          assert.equal(one.count, 1);
          assert.equal(one.records[0].payload.owner, owner(p));
        }
      }
    });

    const sources = embedded ? (['clickhouse', 'parquet'] as const) : (['clickhouse'] as const);
    for (const source of sources) {
      it(`POST /query/execute and /data/execute, SQL and DSL, JSON and NDJSON, read from ${source}: only own rows`, async () => {
        await setWeights(source === 'parquet' ? { parquetEnabled: true, clickhouseRowCost: 1e6 } : { parquetEnabled: false, clickhouseRowCost: 1 });
        try {
          for (const p of PAIRS) {
            const sql = `SELECT data_id, owner, n FROM ${p.table} ORDER BY data_id`;
            const dsl = { table: p.table, select: ['data_id', 'owner', 'n'], orderBy: [{ column: 'data_id' }] };
            const plan = await json(p, 'operation-node', 'POST', '/query/plan', { sql });
            if (source === 'parquet') assert.match(plan.sql as string, /file\(/, `not a Parquet read: ${String(plan.sql)}`);
            else assert.doesNotMatch(plan.sql as string, /file\(/, `not a ClickHouse read: ${String(plan.sql)}`);
            for (const [service, path] of [['operation-node', '/query/execute'], ['tenant-node', '/data/execute']] as const) {
              for (const q of [{ sql }, { dsl }]) {
                const res = await json(p, service, 'POST', path, q);
                assertOwnRows(p, res.rows as Json[], `${path} ${Object.keys(q)[0]} (${source})`);
                assertOwnRows(p, await ndjson(p, service, 'POST', path, q), `${path} ${Object.keys(q)[0]} NDJSON (${source})`);
              }
              const counts = await json(p, service, 'POST', path, { sql: `SELECT count(*) AS c, count(DISTINCT data_id) AS u FROM ${p.table}` });
              assert.deepEqual(counts.rows, [{ c: p.rows, u: p.rows }], `${path} counts of ${owner(p)} (${source})`);
              const others = await json(p, service, 'POST', path, { sql: `SELECT count(*) AS c FROM ${p.table} WHERE NOT (owner = '${owner(p)}')` });
              assert.deepEqual(others.rows, [{ c: 0 }], `${path}: rows of other owners in ${owner(p)} (${source})`);
            }
          }
        } finally {
          await setWeights({ parquetEnabled: true, clickhouseRowCost: 1 });
        }
      });
    }

    it('EXPLAIN ANALYZE (POST /query/plan analyze=true) counts only own rows, from the tenant’s own table', async () => {
      for (const p of PAIRS) {
        const plan = await json(p, 'operation-node', 'POST', '/query/plan', { sql: `SELECT data_id, owner FROM ${p.table}`, analyze: true });
        assert.equal(plan.analyze.actualRows, p.rows, `${owner(p)}: ${JSON.stringify(plan.analyze)}`);
        for (const q of plan.analyze.qErrors as Json[]) assert.ok(q.actualRows <= p.rows, JSON.stringify(q));
        // No other pair's table or Parquet directory appears in the SQL it ran.
        for (const other of PAIRS.filter((o) => o !== p)) {
          if (other.table !== p.table) assert.ok(!(plan.sql as string).includes(`\`${other.table}\``), `${owner(p)} SQL names ${other.table}: ${plan.sql}`);
          assert.ok(!(plan.sql as string).includes(`/${other.tenant}/${other.table}/`), `${owner(p)} SQL reads ${owner(other)}'s files: ${plan.sql}`);
        }
        const get = await json(p, 'operation-node', 'GET', `/query/plan?analyze=true&sql=${encodeURIComponent(`SELECT count() AS c FROM ${p.table}`)}`);
        assert.equal(get.analyze.actualRows, 1);
      }
    });

    it('GET /metadata/tables, /metadata/indexes, /metadata/stats and POST /metadata/partitions: only own tables and parts', async () => {
      for (const p of PAIRS) {
        const tables = await json(p, 'metadata-catalog', 'GET', '/metadata/tables');
        assert.equal(tables.tenant, p.tenant);
        assert.deepEqual(
          (tables.tables as Json[]).map((t) => [t.table, t.rowCount]),
          [[p.table, p.rows]],
          `${owner(p)} tables: ${JSON.stringify(tables.tables)}`,
        );
        const indexes = await json(p, 'metadata-catalog', 'GET', '/metadata/indexes');
        assert.deepEqual((indexes.indexes as Json[]).map((i) => i.table), [p.table]);
        const stats = await json(p, 'metadata-catalog', 'GET', '/metadata/stats');
        assert.equal(stats.tables, 1);
        assert.equal(stats.rows, p.rows);
        for (const body of [{}, { table: p.table }]) {
          const parts = await json(p, 'metadata-catalog', 'POST', '/metadata/partitions', body);
          const list = parts.partitions as Json[];
          assert.ok(list.length > 0, `${owner(p)} has no parts`);
          assert.equal(list.reduce((s, x) => s + (x.rows as number), 0), p.rows);
          for (const x of list) {
            assert.equal(x.table, p.table);
            assert.equal(x.date, dayOf(p));
            assert.ok((x.file as string).startsWith(`${p.tenant}/${p.table}/date=`), `${owner(p)} part ${String(x.file)}`);
          }
        }
        const foreign = await json(p, 'metadata-catalog', 'POST', '/metadata/partitions', { table: PAIRS.find((o) => o.table !== p.table)!.table });
        assert.equal(foreign.count, 0);
      }
    });

    it('GET /data/stats: own rows, bytes and tables only', async () => {
      for (const p of PAIRS) {
        const stats = await json(p, 'tenant-node', 'GET', '/data/stats');
        assert.equal(stats.tenant, p.tenant);
        assert.equal(stats.rows, p.rows);
        assert.deepEqual((stats.tables as Json[]).map((t) => [t.table, t.rows]), [[p.table, p.rows]]);
        const byTable = await json(p, 'tenant-node', 'GET', `/data/stats?table=${p.table}`);
        assert.equal(byTable.rows, p.rows);
      }
    });

    it('a tenant’s key cannot name the colliding tenant', async () => {
      const [acmeX, acme] = PAIRS as [Pair, Pair];
      const res = await call(acme, 'tenant-node', 'GET', `/data?table=${acmeX.table}`, undefined, { 'x-tenant-id': acmeX.tenant });
      assert.equal(res.status, 403);
      // And acme's own view of `y` (acme__x's table name) is empty, not acme__x's rows.
      const own = await json(acme, 'tenant-node', 'GET', `/data?table=${acmeX.table}`);
      assert.equal(own.count, 0);
    });
  });
}

isolation('embedded (chdb)', false, () => ({}), true);

const server = await startClickHouseServer();
if ('skipped' in server) console.log(`# clickhouse-server isolation skipped: ${server.skipped}`);
else after(() => server.stop());
isolation('clickhouse-server', 'skipped' in server ? server.skipped : false, () => ({ CLICKHOUSE_URL: 'url' in server ? server.url : '', CLICKHOUSE_DATABASE: 'cp_isolation' }), false);
