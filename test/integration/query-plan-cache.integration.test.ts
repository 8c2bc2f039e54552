// The planner remembers bound queries by tenant and text, and the executor the
// SQL generated from each cached plan: a repeated query is not parsed, bound,
// optimized or generated again. These tests hold the cache to what it must
// never do: answer one tenant with another tenant's tables, or a query with a
// catalog that has changed since (a new column, a dropped table, new rows),
// and let one request change what the next one is handed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pino from 'pino';
import { CatalogStore, type TableEntry } from '../../src/catalog/catalog-store.js';
import { StateStore } from '../../src/platform/state-store.js';
import { QueryExecutor } from '../../src/query/executor.js';
import { MAX_CACHED_QUERY_TEXT, QueryPlanner } from '../../src/query/query-planner.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import type { ColumnSpec } from '../../src/storage/record-types.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';
import { queryPathOver } from '../helpers/query-path.js';

const COLUMNS: ColumnSpec[] = [
  { name: 'amount', type: 'Float64' },
  { name: 'country', type: 'String' },
];

describe('query plan cache', () => {
  let dir: string;
  let engine: ClickHouseEngine;
  let state: StateStore;
  let catalog: CatalogStore;
  let tables: TenantTableStore;
  let planner: QueryPlanner;
  let executor: QueryExecutor;

  const entry = (tenant: string, table: string, columns: ColumnSpec[], rowCount: number): TableEntry => ({
    tenant,
    table,
    columns,
    rowCount,
    bytes: 0,
    partitions: 1,
    minTsMs: 0,
    maxTsMs: 0,
    createdAt: 1,
    updatedAt: rowCount,
  });

  const insert = async (tenant: string, rows: Array<{ id: string; amount: number; country: string }>) => {
    const values = rows.map((r) => `('${r.id}', 0, toDate('2026-11-30'), 1, '{}', ${r.amount}, '${r.country}')`).join(', ');
    await engine.exec(`INSERT INTO ${tables.tableName(tenant, 'events')} (data_id, ts_ms, date, lsn, payload, amount, country) VALUES ${values}`);
  };

  const run = async (tenant: string, sql: string) => {
    const open = await executor.open(tenant, { sql }, { via: 'test', format: 'json' });
    const rows: Array<Record<string, unknown>> = [];
    for await (const r of open.rows) rows.push(r);
    return { rows, cacheHit: open.planned.cacheHit };
  };

  before(async () => {
    dir = makeTempDir('plan-cache');
    engine = createClickHouseEngine({ dataDir: path.join(dir, 'chdb'), database: 'control_plane' });
    await engine.open();
    state = await StateStore.open(path.join(dir, 'state'));
    catalog = new CatalogStore(state);
    tables = new TenantTableStore(engine);
    const logger = pino({ level: 'silent' });
    for (const tenant of ['acme', 'globex']) {
      await tables.ensureTable(tenant, 'events', COLUMNS);
      await catalog.putTable(entry(tenant, 'events', COLUMNS, 1));
    }
    await insert('acme', [{ id: 'a1', amount: 1, country: 'NL' }]);
    await insert('globex', [{ id: 'g1', amount: 1000, country: 'DE' }]);
    const queryPath = queryPathOver({ catalog, engine, tables, parquetRoot: path.join(dir, 'parquet'), logger });
    // Fresh statistics up front: a refresh finishing between two runs would (rightly) make the second plan anew.
    await queryPath.columnStats.refreshStale();
    ({ planner, executor } = queryPath);
  });

  after(async () => {
    await engine?.close();
    await state?.close();
    if (dir) removeTempDir(dir);
  });

  it('hands a repeated query the same bound query and plan while the catalog is unchanged', async () => {
    const sql = 'SELECT data_id, amount FROM events ORDER BY data_id';
    const first = await planner.bind('acme', { sql });
    const again = await planner.bind('acme', { sql });
    assert.equal(again, first, 'the second bind is the cached one');
    await run('acme', sql);
    assert.equal((await run('acme', sql)).cacheHit, true);
  });

  it('does not keep what it derived from a query longer than the cached maximum, and answers it all the same', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `'id-${i}'`).join(', ');
    const sql = `SELECT data_id FROM events WHERE data_id IN ('a1', ${ids}) ORDER BY data_id`;
    assert.ok(sql.length > MAX_CACHED_QUERY_TEXT);
    assert.notEqual(await planner.bind('acme', { sql }), await planner.bind('acme', { sql }), 'bound anew each time');
    assert.deepEqual((await run('acme', sql)).rows, [{ data_id: 'a1' }]);
  });

  it('never answers one tenant from the plan of another tenant that sent the same text', async () => {
    const sql = 'SELECT data_id, amount, country FROM events ORDER BY data_id';
    // Each tenant twice, interleaved, so both are answered from the cache at least once.
    for (let i = 0; i < 2; i++) {
      assert.deepEqual((await run('acme', sql)).rows, [{ data_id: 'a1', amount: 1, country: 'NL' }]);
      assert.deepEqual((await run('globex', sql)).rows, [{ data_id: 'g1', amount: 1000, country: 'DE' }]);
    }
    const acme = await planner.bind('acme', { sql });
    const globex = await planner.bind('globex', { sql });
    assert.notEqual(acme, globex);
    assert.equal(acme.bound.tables[0]!.entry.tenant, 'acme');
    assert.equal(globex.bound.tables[0]!.entry.tenant, 'globex');
  });

  it('binds again once the catalog changed: a new column is found, new rows are seen', async () => {
    const sql = 'SELECT count() AS n FROM events';
    assert.deepEqual((await run('acme', sql)).rows, [{ n: 1 }]);
    await insert('acme', [{ id: 'a2', amount: 2, country: 'BE' }]);
    await catalog.putTable(entry('acme', 'events', COLUMNS, 2));
    const bound = await planner.bind('acme', { sql });
    assert.equal(bound.bound.tables[0]!.entry.rowCount, 2, 'the bound query carries the new catalog entry');
    assert.deepEqual((await run('acme', sql)).rows, [{ n: 2 }]);

    const withPaid: ColumnSpec[] = [...COLUMNS, { name: 'paid', type: 'Bool' }];
    const paidSql = 'SELECT data_id, paid FROM events ORDER BY data_id';
    await assert.rejects(planner.bind('acme', { sql: paidSql }), /paid/);
    await tables.ensureTable('acme', 'events', withPaid);
    await catalog.putTable(entry('acme', 'events', withPaid, 2));
    assert.deepEqual((await run('acme', paidSql)).rows.map((r) => r.data_id), ['a1', 'a2']);
  });

  it('refuses a cached query once its table is gone', async () => {
    const sql = 'SELECT data_id FROM events';
    await run('globex', sql);
    await catalog.dropTable('globex', 'events');
    await assert.rejects(planner.bind('globex', { sql }), /events/);
  });

  it('hands out frozen cached results: one request cannot change what the next is given', async () => {
    const sql = 'SELECT data_id FROM events WHERE amount > 0';
    const bound = await planner.bind('acme', { sql });
    assert.throws(() => {
      (bound.ast as { limit?: number }).limit = 1;
    }, TypeError);
    assert.throws(() => {
      (bound.bound.tables as unknown[]).push({});
    }, TypeError);
    assert.equal((await planner.bind('acme', { sql })).ast.limit, bound.ast.limit);
  });
});
