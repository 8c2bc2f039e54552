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
import { QueryPlanner } from '../../src/query/query-planner.js';
import { QueryRegistry } from '../../src/query/query-registry.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { CORPUS } from '../helpers/query-corpus.js';
import { loadTenant, makeTenantData } from '../helpers/query-fixture.js';

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
      const columnStats = new ColumnStatsStore({ catalog: () => catalog, engine: () => engine, tables: () => tables, logger });
      assert.ok((await columnStats.refreshStale()) >= 4);
      config = new CboConfigStore(() => catalog);
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
