// Correctness corpus: every query goes through the whole path (parse → bind →
// optimize → generate → execute) and its result must equal the same query
// written by hand in ClickHouse SQL, run on the same engine. Runs on the
// embedded engine (twice: ClickHouse tables, and Parquet parts forced by the
// weights) and on a real ClickHouse server (Debian's 18.16) when installed.
// Two tenants share table names and data_ids; every result is checked to hold
// no row of the other tenant.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { StateStore } from '../../src/platform/state-store.js';
import { CboConfigStore } from '../../src/query/cbo/cbo-config.js';
import { ColumnStatsStore } from '../../src/query/column-stats.js';
import { QueryExecutor, median, qError } from '../../src/query/executor.js';
import { QueryPlanner, type QueryInput } from '../../src/query/query-planner.js';
import { QueryRegistry } from '../../src/query/query-registry.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { BASE_TS, DAY_MS, loadTenant, makeTenantData } from '../helpers/query-fixture.js';

interface Case {
  name: string;
  input: QueryInput;
  /** Hand-written ClickHouse SQL; {E} and {U} are acme's events and users tables. */
  hand: string;
  ordered?: boolean;
}

const ms = (iso: string) => Date.parse(iso);
const sql = (name: string, text: string, hand: string, ordered = false): Case => ({ name, input: { sql: text }, hand, ordered });

export const CORPUS: Case[] = [
  sql('count all', 'SELECT count() FROM events', 'SELECT count() FROM {E}'),
  sql('count star with bool filter', 'SELECT count(*) AS n FROM events WHERE paid = true', 'SELECT count() FROM {E} WHERE paid = 1'),
  sql('group by country', 'SELECT country, count() AS n FROM events GROUP BY country', 'SELECT country, count() FROM {E} GROUP BY country'),
  sql('all aggregates', 'SELECT country, sum(amount) AS s, avg(amount) AS a, min(amount), max(amount) FROM events GROUP BY country', 'SELECT country, sum(amount), avg(amount), min(amount), max(amount) FROM {E} GROUP BY country'),
  sql('count distinct', 'SELECT count(DISTINCT user_id) AS users FROM events', 'SELECT uniqExact(user_id) FROM {E}'),
  sql('having count distinct', 'SELECT country, count(DISTINCT page) AS p FROM events GROUP BY country HAVING count(DISTINCT page) > 3', 'SELECT country, uniqExact(page) FROM {E} GROUP BY country HAVING uniqExact(page) > 3'),
  sql('top by amount', 'SELECT data_id, amount FROM events WHERE amount > 900 ORDER BY amount DESC, data_id LIMIT 10', 'SELECT data_id, amount FROM {E} WHERE amount > 900 ORDER BY amount DESC, data_id LIMIT 10', true),
  sql('limit offset', 'SELECT data_id FROM events ORDER BY data_id LIMIT 5 OFFSET 5', 'SELECT data_id FROM {E} ORDER BY data_id LIMIT 5, 5', true),
  sql('limit comma form', 'SELECT data_id FROM events ORDER BY data_id DESC LIMIT 3, 4', 'SELECT data_id FROM {E} ORDER BY data_id DESC LIMIT 3, 4', true),
  sql('in and not in', "SELECT count() FROM events WHERE country IN ('NL', 'DE') AND page NOT IN ('/help')", "SELECT count() FROM {E} WHERE country IN ('NL', 'DE') AND page NOT IN ('/help')"),
  sql('between', 'SELECT count(), sum(amount) FROM events WHERE amount BETWEEN 100 AND 200', 'SELECT count(), sum(amount) FROM {E} WHERE amount >= 100 AND amount <= 200'),
  sql('not between', 'SELECT count() FROM events WHERE amount NOT BETWEEN 100 AND 900', 'SELECT count() FROM {E} WHERE NOT (amount >= 100 AND amount <= 900)'),
  sql('like prefix', "SELECT page, count() FROM events WHERE page LIKE '/c%' GROUP BY page", "SELECT page, count() FROM {E} WHERE page LIKE '/c%' GROUP BY page"),
  sql('not like', "SELECT count() FROM events WHERE page NOT LIKE '%e%'", "SELECT count() FROM {E} WHERE NOT (page LIKE '%e%')"),
  sql('ilike', "SELECT count() FROM events WHERE country ILIKE 'nl'", "SELECT count() FROM {E} WHERE lower(country) = 'nl'"),
  sql('is null', 'SELECT count() FROM events WHERE amount IS NULL', 'SELECT count() FROM {E} WHERE isNull(amount)'),
  sql('is not null and not', 'SELECT count() FROM events WHERE paid IS NOT NULL AND NOT paid', 'SELECT count() FROM {E} WHERE isNotNull(paid) AND paid = 0'),
  sql(
    'timestamp range',
    "SELECT count(), sum(amount) FROM events WHERE ts_ms >= TIMESTAMP '2026-11-01' AND ts_ms < TIMESTAMP '2026-11-10'",
    `SELECT count(), sum(amount) FROM {E} WHERE ts_ms >= ${ms('2026-11-01T00:00:00Z')} AND ts_ms < ${ms('2026-11-10T00:00:00Z')}`,
  ),
  sql('iso string vs ts_ms', "SELECT count() FROM events WHERE ts_ms < '2026-10-20T12:00:00Z'", `SELECT count() FROM {E} WHERE ts_ms < ${ms('2026-10-20T12:00:00Z')}`),
  sql('date equality', "SELECT count() FROM events WHERE date = DATE '2026-10-20'", "SELECT count() FROM {E} WHERE date = toDate('2026-10-20')"),
  sql('date between grouped', "SELECT date, count() AS n FROM events WHERE date BETWEEN '2026-10-20' AND '2026-10-25' GROUP BY date ORDER BY date", "SELECT date, count() FROM {E} WHERE date >= toDate('2026-10-20') AND date <= toDate('2026-10-25') GROUP BY date ORDER BY date", true),
  sql('per day', 'SELECT toDate(ts_ms) AS d, count() AS n FROM events GROUP BY toDate(ts_ms) ORDER BY d', "SELECT toDate(toDateTime(intDiv(ts_ms, 1000), 'UTC')) AS d, count() FROM {E} GROUP BY d ORDER BY d", true),
  sql('per hour top', 'SELECT toStartOfHour(ts_ms) AS h, count() AS n FROM events GROUP BY toStartOfHour(ts_ms) ORDER BY n DESC, h LIMIT 5', "SELECT toStartOfHour(toDateTime(intDiv(ts_ms, 1000), 'UTC')) AS h, count() AS n FROM {E} GROUP BY h ORDER BY n DESC, h LIMIT 5", true),
  sql('per month', 'SELECT toYYYYMM(ts_ms) AS m, count() FROM events GROUP BY toYYYYMM(ts_ms)', "SELECT toYYYYMM(toDateTime(intDiv(ts_ms, 1000), 'UTC')), count() FROM {E} GROUP BY toYYYYMM(toDateTime(intDiv(ts_ms, 1000), 'UTC'))"),
  sql('start of month of date', 'SELECT toStartOfMonth(date) AS m, sum(amount) FROM events GROUP BY toStartOfMonth(date)', 'SELECT toStartOfMonth(date), sum(amount) FROM {E} GROUP BY toStartOfMonth(date)'),
  sql('day of week', 'SELECT toDayOfWeek(ts_ms) AS w, count() FROM events GROUP BY toDayOfWeek(ts_ms)', "SELECT toDayOfWeek(toDateTime(intDiv(ts_ms, 1000), 'UTC')), count() FROM {E} GROUP BY toDayOfWeek(toDateTime(intDiv(ts_ms, 1000), 'UTC'))"),
  sql('arithmetic', 'SELECT data_id, amount * 2 + 1 AS x, amount / 3 AS y FROM events WHERE amount > 990 ORDER BY data_id', 'SELECT data_id, amount * 2 + 1, amount / 3 FROM {E} WHERE amount > 990 ORDER BY data_id', true),
  sql('math functions', 'SELECT data_id, round(amount, 1), floor(amount), ceil(amount), abs(amount - 500) FROM events WHERE amount < 20 ORDER BY data_id', 'SELECT data_id, round(amount, 1), floor(amount), ceil(amount), abs(amount - 500) FROM {E} WHERE amount < 20 ORDER BY data_id', true),
  sql('string functions distinct', 'SELECT DISTINCT upper(country) AS c, length(page) AS l, substring(page, 1, 2) AS s FROM events', 'SELECT DISTINCT upper(country), length(page), substring(page, 1, 2) FROM {E}'),
  sql('coalesce', 'SELECT country, sum(coalesce(amount, 0)) AS s FROM events GROUP BY country', 'SELECT country, sum(ifNull(amount, 0)) FROM {E} GROUP BY country'),
  sql('case when', "SELECT CASE WHEN amount > 500 THEN 'big' ELSE 'small' END AS size, count() AS n FROM events GROUP BY CASE WHEN amount > 500 THEN 'big' ELSE 'small' END", "SELECT multiIf(amount > 500, 'big', 'small') AS size, count() FROM {E} GROUP BY size"),
  sql('distinct', 'SELECT DISTINCT country FROM events', 'SELECT DISTINCT country FROM {E}'),
  sql('concat operator', "SELECT country || '-' || page AS k, count() FROM events GROUP BY country || '-' || page", "SELECT concat(concat(country, '-'), page) AS k, count() FROM {E} GROUP BY k"),
  sql(
    'inner join',
    'SELECT e.data_id, u.name FROM events e JOIN users u ON e.user_id = u.data_id WHERE e.amount > 950 ORDER BY e.data_id',
    'SELECT data_id, name FROM (SELECT data_id, user_id FROM {E} WHERE amount > 950) AS a ALL INNER JOIN (SELECT data_id AS user_id, name FROM {U}) AS b USING user_id ORDER BY data_id',
    true,
  ),
  sql(
    'left join grouped',
    'SELECT u.country, count() AS n FROM events e LEFT JOIN users u ON e.user_id = u.data_id GROUP BY u.country',
    'SELECT ucountry, count() FROM (SELECT user_id FROM {E}) AS a ALL LEFT JOIN (SELECT data_id AS user_id, country AS ucountry FROM {U}) AS b USING user_id GROUP BY ucountry',
  ),
  sql(
    'join aggregate having',
    'SELECT u.name, sum(e.amount) AS s FROM events e INNER JOIN users u ON e.user_id = u.data_id GROUP BY u.name HAVING sum(e.amount) > 10000',
    'SELECT name, sum(amount) AS s FROM (SELECT user_id, amount FROM {E}) AS a ALL INNER JOIN (SELECT data_id AS user_id, name FROM {U}) AS b USING user_id GROUP BY name HAVING s > 10000',
  ),
  sql(
    'three-way join',
    'SELECT count() AS n FROM events e JOIN users u ON e.user_id = u.data_id JOIN users v ON u.data_id = v.data_id WHERE v.age > 50',
    'SELECT count() FROM (SELECT user_id FROM {E}) AS a ALL INNER JOIN (SELECT data_id AS user_id FROM {U} WHERE age > 50) AS b USING user_id',
  ),
  sql(
    'join with extra on condition',
    'SELECT count() FROM events e JOIN users u ON e.user_id = u.data_id AND e.amount > u.age * 10',
    'SELECT count() FROM (SELECT user_id, amount FROM {E}) AS a ALL INNER JOIN (SELECT data_id AS user_id, age FROM {U}) AS b USING user_id WHERE amount > age * 10',
  ),
  sql('select star', 'SELECT * FROM users ORDER BY data_id LIMIT 5', 'SELECT data_id, ts_ms, date, lsn, payload, name, country, age FROM {U} ORDER BY data_id LIMIT 5', true),
  sql('or and not', "SELECT count() FROM events WHERE (country = 'NL' OR country = 'DE') AND NOT (page = '/')", "SELECT count() FROM {E} WHERE (country = 'NL' OR country = 'DE') AND NOT (page = '/')"),
  sql('month window', "SELECT count(), min(ts_ms), max(ts_ms) FROM events WHERE date >= '2026-11-01'", "SELECT count(), min(ts_ms), max(ts_ms) FROM {E} WHERE date >= toDate('2026-11-01')"),
  sql('having alias', 'SELECT country, count() AS n FROM events GROUP BY country HAVING n > 100 ORDER BY n DESC, country', 'SELECT country, count() AS n FROM {E} GROUP BY country HAVING n > 100 ORDER BY n DESC, country', true),
  sql('alias shadows a column', 'SELECT data_id, amount AS country FROM events WHERE amount > 995 ORDER BY country, data_id', 'SELECT data_id, amount FROM {E} WHERE amount > 995 ORDER BY amount, data_id', true),
  sql('quoted string literal', "SELECT data_id FROM users WHERE name = 'user 7 O''Brien'", "SELECT data_id FROM {U} WHERE name = 'user 7 O\\'Brien'"),
  sql('in list and not equal', "SELECT count() FROM events WHERE user_id IN ('u1', 'u2', 'u3') AND data_id != 'e1'", "SELECT count() FROM {E} WHERE user_id IN ('u1', 'u2', 'u3') AND data_id != 'e1'"),
  sql('negative numbers', 'SELECT count() FROM events WHERE amount > -1 AND -amount < 0', 'SELECT count() FROM {E} WHERE amount > -1 AND -amount < 0'),
  sql('modulo', 'SELECT count() FROM events WHERE lsn % 2 = 0', 'SELECT count() FROM {E} WHERE lsn % 2 = 0'),
  sql('avg with nulls', 'SELECT country, avg(age) AS a, count(age) AS c FROM users GROUP BY country', 'SELECT country, avg(age), count(age) FROM {U} GROUP BY country'),
  {
    name: 'dsl: filter, group, aggregate',
    input: { dsl: { table: 'events', filter: { and: [{ column: 'country', op: 'eq', value: 'NL' }, { column: 'amount', op: 'gte', value: 500 }] }, groupBy: ['page'], aggregations: [{ fn: 'count' }, { fn: 'sum', column: 'amount' }] } },
    hand: "SELECT page, count(), sum(amount) FROM {E} WHERE country = 'NL' AND amount >= 500 GROUP BY page",
  },
  {
    name: 'dsl: or, not, order, limit',
    input: { dsl: { table: 'events', select: ['data_id', 'amount'], filter: { or: [{ column: 'page', op: 'eq', value: '/buy' }, { not: { column: 'amount', op: 'lt', value: 999 } }] }, orderBy: [{ column: 'data_id', direction: 'desc' }], limit: 7 } },
    hand: "SELECT data_id, amount FROM {E} WHERE page = '/buy' OR NOT (amount < 999) ORDER BY data_id DESC LIMIT 7",
    ordered: true,
  },
  {
    name: 'dsl: in, between, isNull, count_distinct',
    input: { dsl: { table: 'events', filter: { and: [{ column: 'country', op: 'in', value: ['FR', 'BE'] }, { column: 'ts_ms', op: 'between', value: [BASE_TS, BASE_TS + 20 * DAY_MS] }, { column: 'paid', op: 'isNotNull' }] }, aggregations: [{ fn: 'count_distinct', column: 'user_id', as: 'users' }] } },
    hand: `SELECT uniqExact(user_id) FROM {E} WHERE country IN ('FR', 'BE') AND ts_ms >= ${BASE_TS} AND ts_ms <= ${BASE_TS + 20 * DAY_MS} AND isNotNull(paid)`,
  },
];

function norm(v: unknown): unknown {
  if (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  if (typeof v === 'number' && !Number.isInteger(v)) return Number(v.toPrecision(10));
  return v;
}

function normalize(rows: Record<string, unknown>[], ordered: boolean): unknown[][] {
  const out = rows.map((r) => Object.values(r).map(norm));
  if (!ordered) out.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));
  return out;
}

// Billions of joined rows: runs for minutes unless stopped.
const SLOW_SQL =
  'SELECT count() FROM events e JOIN events f ON e.country = f.country JOIN events g ON f.country = g.country JOIN events h ON g.country = h.country JOIN events i ON h.country = i.country';

const GLOBEX_MARKERS = ['ZZ', 'globex-'];

function corpus(name: string, skip: string | false, makeEngine: () => ClickHouseEngine, variants: Array<{ label: string; weights: Record<string, unknown>; expectParquet: boolean }>): void {
  describe(`query corpus: ${name}`, { skip }, () => {
    let dir: string;
    let engine: ClickHouseEngine;
    let state: StateStore;
    let tables: TenantTableStore;
    let planner: QueryPlanner;
    let executor: QueryExecutor;
    let config: CboConfigStore;
    const qErrors: number[] = [];

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'query-corpus-'));
      engine = makeEngine();
      await engine.open();
      state = await StateStore.open(path.join(dir, 'state'));
      const catalog = new CatalogStore(state);
      tables = new TenantTableStore(engine);
      const parquet = new ParquetSink({ rootDir: path.join(dir, 'parquet') });
      const logger = pino({ level: 'silent' });
      for (const t of ['acme', 'globex']) for (const tb of ['events', 'users']) await tables.dropTable(t, tb);
      await loadTenant({ tables, parquet, catalog }, makeTenantData('acme', { events: 3000, users: 60, hostile: false, seed: 1 }));
      await loadTenant({ tables, parquet, catalog }, makeTenantData('globex', { events: 1500, users: 60, hostile: true, seed: 2 }));
      const columnStats = new ColumnStatsStore({ state: () => state, catalog: () => catalog, engine: () => engine, tables: () => tables, logger });
      assert.ok((await columnStats.refreshStale()) >= 4);
      config = new CboConfigStore(() => state);
      planner = new QueryPlanner({ catalog: () => catalog, columnStats, config, engineKind: () => engine.kind });
      executor = new QueryExecutor({
        planner,
        registry: new QueryRegistry({ maxConcurrentPerTenant: 4 }),
        engine: () => engine,
        tables: () => tables,
        parquetRoot: path.join(dir, 'parquet'),
        defaultTimeoutMs: 30_000,
        maxTimeoutMs: 60_000,
        logger,
      });
    });

    after(async () => {
      if (qErrors.length) console.log(`# ${name}: median q-error of ${qErrors.length} estimates = ${median(qErrors)}`);
      await engine?.close();
      await state?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    for (const v of variants) {
      it(`${CORPUS.length} queries equal their hand-written SQL (${v.label})`, async () => {
        await config.put(v.weights as never);
        let parquetScans = 0;
        const failures: string[] = [];
        for (const c of CORPUS) {
          const hand = c.hand.replaceAll('{E}', tables.tableName('acme', 'events')).replaceAll('{U}', tables.tableName('acme', 'users'));
          try {
            const open = await executor.open('acme', c.input, { via: 'test', format: 'json' });
            const ours: Record<string, unknown>[] = [];
            for await (const r of open.rows) ours.push(r);
            const expected = await engine.query(hand);
            if (open.planned.physical.tree.op === 'scan' && open.planned.physical.tree.source === 'parquet') parquetScans++;
            assert.deepEqual(normalize(ours, !!c.ordered), normalize(expected, !!c.ordered), c.name);
            const text = JSON.stringify(ours);
            for (const m of GLOBEX_MARKERS) assert.ok(!text.includes(m), `${c.name}: result holds a row of tenant globex (${m})`);
            qErrors.push(qError(open.planned.physical.estRows, ours.length));
          } catch (err) {
            failures.push(`${c.name}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
        assert.deepEqual(failures, []);
        if (v.expectParquet) assert.ok(parquetScans > CORPUS.length / 2, `expected most single-table queries on Parquet, got ${parquetScans}`);
        else assert.equal(parquetScans, 0);
      });
    }

    it('EXPLAIN ANALYZE reports actual rows and q-error for each stage', async () => {
      const plan = await executor.explain('acme', { sql: "SELECT u.country, count() AS n FROM events e JOIN users u ON e.user_id = u.data_id WHERE e.ts_ms >= TIMESTAMP '2026-11-01' GROUP BY u.country" }, true);
      assert.ok(plan.analyze);
      assert.ok(plan.analyze.qErrors.length >= 4, JSON.stringify(plan.analyze.qErrors));
      for (const q of plan.analyze.qErrors) assert.ok(q.qError >= 1);
      assert.ok(plan.partitions.pruned > 0, 'the November predicate prunes October partitions');
    });

    it('a cancelled query stops and is recorded as cancelled', async () => {
      const open = await executor.open('acme', { sql: SLOW_SQL }, { via: 'test', format: 'json', timeoutMs: 60_000 });
      const it = open.rows[Symbol.asyncIterator]();
      const pending = it.next();
      setTimeout(() => open.handle.abandon(), 50);
      await assert.rejects(pending, (err: Error & { code?: string }) => err.name === 'AbortError' || err.code === 'query_cancelled');
      // The engine stops too (KILL QUERY), not only our promise.
      const running = async () =>
        Number((await engine.query<{ n: string }>("SELECT count() AS n FROM system.processes WHERE query LIKE '%ALL INNER JOIN%' AND query NOT LIKE '%system.processes%'"))[0]?.n ?? 0);
      for (let i = 0; i < 100 && (await running()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await running(), 0, 'the cancelled query is gone from system.processes');
    });

    it('a query past its timeout is stopped with query_timeout', async () => {
      const open = await executor.open('acme', { sql: SLOW_SQL }, { via: 'test', format: 'json', timeoutMs: 50 });
      await assert.rejects(
        (async () => {
          for await (const r of open.rows) void r;
        })(),
        (err: Error & { code?: string }) => err.code === 'query_timeout',
      );
    });
  });
}

const chdbDir = await mkdtemp(path.join(os.tmpdir(), 'query-corpus-chdb-'));
after(async () => {
  await rm(chdbDir, { recursive: true, force: true });
});
corpus('embedded (chdb)', false, () => createClickHouseEngine({ dataDir: chdbDir, database: 'corpus_db' }), [
  { label: 'ClickHouse tables', weights: { parquetEnabled: false }, expectParquet: false },
  { label: 'Parquet parts', weights: { parquetEnabled: true, parquetFileCost: 0, parquetRowCost: 0.001 }, expectParquet: true },
]);

const server = await startClickHouseServer();
if ('skipped' in server) console.log(`# clickhouse server corpus skipped: ${server.skipped}`);
else after(() => server.stop());
corpus('server', 'skipped' in server ? server.skipped : false, () => createClickHouseEngine({ url: 'url' in server ? server.url : '', dataDir: chdbDir, database: 'corpus_db' }), [
  { label: 'ClickHouse tables', weights: { parquetEnabled: true }, expectParquet: false },
]);
