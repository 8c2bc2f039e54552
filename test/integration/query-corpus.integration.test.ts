// Correctness corpus: every query goes through the whole path (parse → bind →
// optimize → generate → execute) and its result must equal the same query
// written by hand in ClickHouse SQL, run on the same engine; its JSON answer,
// NDJSON stream and Arrow IPC stream must hold the same values. Runs on the
// embedded engine (twice: ClickHouse tables, and Parquet parts forced by the
// weights) and on a real ClickHouse server (Debian's 18.16) when installed.
// Two tenants share table names and data_ids; every result is checked to hold
// no row of the other tenant.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import pino from 'pino';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { StateStore } from '../../src/platform/state-store.js';
import { CboConfigStore } from '../../src/query/cbo/cbo-config.js';
import { QueryExecutor, median, qError } from '../../src/query/executor.js';
import { arrowKindOf, type ArrowKind } from '../../src/query/wire-sql.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { CORPUS, normalizeRows } from '../helpers/query-corpus.js';
import { loadTenant, makeTenantData } from '../helpers/query-fixture.js';
import { queryPathOver } from '../helpers/query-path.js';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/**
 * Rows to compare across runs: float sums and averages may differ in the last
 * bits between two runs of one query (the engine adds in parallel, in no fixed
 * order), so non-integers are compared to 10 significant digits, as the
 * corpus compares with hand-written SQL; rows of unordered queries are sorted.
 */
function sortedIf(rows: Record<string, unknown>[], sort: boolean): Record<string, unknown>[] {
  rows = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(10)) : v])));
  if (!sort) return rows;
  const key = (r: Record<string, unknown>) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Arrow's Int64 arrives as a bigint; every value here fits a double exactly. */
function fromArrowValue(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** What a JSON value is in our Arrow schema: Utf8 columns hold dates, times and strings as text. */
function jsonAsArrowValue(v: unknown, kind: ArrowKind): unknown {
  if (v === null || v === undefined) return null;
  return kind === 'Utf8' ? String(v) : Number(v);
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
      const queryPath = queryPathOver({ catalog, engine, tables, parquetRoot: path.join(dir, 'parquet'), logger });
      assert.ok((await queryPath.columnStats.refreshStale()) >= 4);
      ({ config, executor } = queryPath);
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
            assert.deepEqual(normalizeRows(ours, !!c.ordered), normalizeRows(expected, !!c.ordered), c.name);
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

    for (const v of variants) {
      it(`${CORPUS.length} queries answer the same values as JSON, NDJSON and Arrow IPC, schema checked with apache-arrow (${v.label})`, async () => {
        await config.put(v.weights as never);
        const failures: string[] = [];
        for (const c of CORPUS) {
          try {
            const run = () => executor.open('acme', c.input, { via: 'test', format: 'json' });
            const json = await run();
            const { text, count } = await json.jsonRows(100_000);
            const fromJson = JSON.parse(`[${text.toString()}]`) as Record<string, unknown>[];
            assert.equal(fromJson.length, count, 'rowCount');
            const names = json.columns.map((col) => col.name);
            for (const r of fromJson) assert.deepEqual(Object.keys(r), names, 'JSON rows carry the client names, in order');

            const nd = await collect((await run()).stream('ndjson'));
            const fromNdjson = nd.length ? nd.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];
            assert.deepEqual(sortedIf(fromNdjson, !c.ordered), sortedIf(fromJson, !c.ordered), 'NDJSON rows equal the JSON answer');

            const table = tableFromIPC(await collect((await run()).stream('arrow')));
            assert.deepEqual(
              table.schema.fields.map((fl) => [fl.name, String(fl.type), fl.nullable]),
              json.columns.map((col) => [col.name, arrowKindOf(col.type), true]),
              'Arrow schema: the client names, our types, nullable',
            );
            const fromArrow = table.toArray().map((row) => Object.fromEntries(names.map((n) => [n, fromArrowValue((row as Record<string, unknown>)[n])])));
            const jsonAsArrow = fromJson.map((r) => Object.fromEntries(json.columns.map((col) => [col.name, jsonAsArrowValue(r[col.name], arrowKindOf(col.type))])));
            assert.deepEqual(sortedIf(fromArrow, !c.ordered), sortedIf(jsonAsArrow, !c.ordered), 'Arrow values equal the JSON answer');
          } catch (err) {
            failures.push(`${c.name}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
        assert.deepEqual(failures, []);
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
