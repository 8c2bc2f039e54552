// The embedded engine's write path (ClickHouse reading the WAL entries
// itself) against the record path that renders every row in JavaScript
// (tableRowLine, partRowLine), on one real chdb: the same batch, with
// hostile payloads, wrong-typed fields, Int64 past 2^53, columns named like
// Object.prototype members, rows over three UTC days, duplicates and ids the
// table already holds, must give the same ClickHouse rows and the same
// Parquet files, row for row and value for value.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EngineBatchWriter, type BatchGroup } from '../../src/applier/engine-batch-writer.js';
import type { WalBatch } from '../../src/ingest/pending-records.js';
import { encodeBatch, type IngestBatch } from '../../src/ingest/wal-entry.js';
import { isAppError } from '../../src/platform/errors.js';
import { ChdbEngine } from '../../src/storage/clickhouse/chdb-engine.js';
import { quoteString } from '../../src/storage/clickhouse/sql-literal.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import { EnginePartWriter, ParquetSink, type WrittenPart } from '../../src/storage/parquet/index.js';
import type { ColumnSpec, StoredRecord } from '../../src/storage/record-types.js';
import { HOSTILE_STRINGS } from '../helpers/hostile-strings.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const dir = makeTempDir('engine-batch-writer');
const engine = new ChdbEngine({ dataDir: path.join(dir, 'chdb'), database: 'ebw' });
const tables = new TenantTableStore(engine);
const runner = { exec: (sql: string) => engine.execIsolated(sql) };

before(() => engine.open());
after(async () => {
  await engine.close();
  removeTempDir(dir);
});

const columns: ColumnSpec[] = [
  { name: 'n', type: 'Int64' },
  { name: 'f', type: 'Float64' },
  { name: 's', type: 'String' },
  { name: 'ok', type: 'Bool' },
  { name: 'constructor', type: 'String' },
  { name: '__proto__', type: 'String' },
  { name: 'r', type: 'Float64' },
];
const midnight = Date.UTC(2026, 10, 30);
// Doubles whose shortest text needs every digit to read back exactly, integers past 2^53, 2^63 and 2^64
// (JSON.stringify writes 1e20 as 100000000000000000000, which a strict 64-bit integer parser refuses).
const values: unknown[] = [
  0, -0, 1, -1, 1.5, 0.1 + 0.2, Math.PI, 1 / 3, -1.5e-10, 5e-324, 1.7976931348623157e308, 2 ** 53 - 1, 2 ** 53, 2 ** 60, -(2 ** 63), 2 ** 63, 1e20, -1e20, 1e21, 1e-7,
  'text', '', 'é\\"\n', true, false, null, [1, 2], { a: 1 }, '12', 'true',
];

/** Entry e's rows: every hostile string and value somewhere, a nested object, and ids that repeat across entries. */
function entryRows(e: number): IngestBatch['rows'] {
  return Array.from({ length: 40 }, (_, i) => {
    const k = e * 40 + i;
    const v = (j: number) => values[(k + j) % values.length];
    return {
      table: i % 7 === 6 ? 'other' : 'events',
      dataId: i % 10 === 9 ? `id-${k - 45}` : `id-${k}-${HOSTILE_STRINGS[k % HOSTILE_STRINGS.length]}`,
      // Three UTC days, with rows on both sides of each midnight.
      tsMs: midnight + ((k % 3) - 1) * 86_400_000 + (k % 2 === 0 ? -1 : 0),
      payload: {
        n: v(0),
        f: v(1),
        s: k % 4 === 0 ? HOSTILE_STRINGS[k % HOSTILE_STRINGS.length] : v(2),
        ok: v(3),
        constructor: k % 5 === 0 ? 'ctor' : v(4),
        ['__proto__']: k % 2 === 0 ? 'proto' : v(5),
        r: v(6),
        nested: { deep: [HOSTILE_STRINGS[(k + 1) % HOSTILE_STRINGS.length], { x: v(7) }] },
      },
    };
  });
}

const tenantEntries = (tenant: string, first: number): WalBatch[] =>
  [0, 1, 2].map((e) => {
    const batch = { tenant, rows: entryRows(e) };
    return { lsn: first + e, batch, payload: encodeBatch(batch) };
  });

/** The applier's grouping: first occurrence of an id wins, later ones are dropped; `inTable` ids are kept out of the table. */
function groupsOf(entries: WalBatch[], inTableIds: Set<string>): BatchGroup[] {
  const groups = new Map<string, BatchGroup>();
  const seen = new Set<string>();
  entries.forEach((e, entry) =>
    e.batch.rows.forEach((r, row) => {
      let g = groups.get(r.table);
      if (!g) groups.set(r.table, (g = { tenant: e.batch.tenant, table: r.table, columns, records: [], dropped: [], inTable: [] }));
      if (seen.has(`${r.table}/${r.dataId}`)) return void g.dropped.push(entry, row);
      seen.add(`${r.table}/${r.dataId}`);
      g.records.push({ dataId: r.dataId, tsMs: r.tsMs, lsn: e.lsn, payload: r.payload });
      if (inTableIds.has(r.dataId)) g.inTable.push(entry, row);
    }),
  );
  return [...groups.values()];
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return engine.query(sql);
}

test('the engine path writes exactly what the JavaScript record path writes, in both sinks', async () => {
  const engineSink = new ParquetSink({ rootDir: path.join(dir, 'parquet-engine'), rowGroupRows: 16 });
  const jsSink = new ParquetSink({ rootDir: path.join(dir, 'parquet-js'), writer: new EnginePartWriter(runner), rowGroupRows: 16 });
  const writer = new EngineBatchWriter({ engine, tables, parquet: engineSink, stagingDir: path.join(dir, 'staging') });
  await writer.recover();

  // Two tenants in one batch; some ids of the first are in its table already (a failed batch before).
  const entries = [...tenantEntries('acme', 10), ...tenantEntries('beta', 13)];
  const inTable = new Set(entries[0]!.batch.rows.slice(0, 12).map((r) => r.dataId));
  const groups = groupsOf(entries, inTable);
  assert.ok(groups.some((g) => g.dropped.length > 0) && groups.some((g) => g.inTable.length > 0), 'the batch has duplicates and ids already in the table');

  const timed = <T>(_stage: string, run: () => Promise<T>) => run();
  const written = await writer.write(entries, groups, timed);
  // The record path, into tenants of its own (insertIdempotent looks up ids the table holds; seed them first).
  const jsWritten: WrittenPart[][] = [];
  for (const g of groups) {
    const jsTenant = `${g.tenant}-js`;
    const held = g.records.filter((r) => inTable.has(r.dataId) && g.inTable.length > 0);
    await tables.insertIdempotent(jsTenant, g.table, columns, held);
    await tables.insertIdempotent(jsTenant, g.table, columns, g.records);
    jsWritten.push(await jsSink.writeBatch(jsTenant, g.table, columns, g.records));
  }
  // The engine path's table lacks the rows a failed batch had put there; put them in as the record path would have.
  for (const g of groups) {
    const held = g.records.filter((r) => inTable.has(r.dataId) && g.inTable.length > 0);
    await tables.insertIdempotent(g.tenant, g.table, columns, held, { knownAbsent: true });
  }

  for (const [i, g] of groups.entries()) {
    const select = (tenant: string) => `SELECT * FROM ${tables.tableName(tenant, g.table)} ORDER BY lsn, data_id`;
    const [viaEngine, viaJs] = [await rows(select(g.tenant)), await rows(select(`${g.tenant}-js`))];
    assert.equal(viaEngine.length, g.records.length, `${g.tenant}/${g.table}: one table row per kept record`);
    assert.deepEqual(viaEngine, viaJs, `${g.tenant}/${g.table}: ClickHouse rows`);

    const parts = written[i]!;
    const jsParts = jsWritten[i]!;
    assert.deepEqual(
      parts.map((p) => [p.date, p.rows, p.firstLsn, p.lastLsn, p.minTsMs, p.maxTsMs]),
      jsParts.map((p) => [p.date, p.rows, p.firstLsn, p.lastLsn, p.minTsMs, p.maxTsMs]),
      `${g.tenant}/${g.table}: parts and their summaries`,
    );
    assert.ok(parts.length >= 3, 'rows over several UTC days');
    for (const [k, p] of parts.entries()) {
      const read = (file: string) => rows(`SELECT * FROM file(${quoteString(file)}, Parquet) SETTINGS use_hive_partitioning = 0`);
      const [fromEngine, fromJs] = [await read(p.path), await read(jsParts[k]!.path)];
      assert.deepEqual(fromEngine, fromJs, `${g.tenant}/${g.table} ${p.date}: Parquet rows, in file order`);
      assert.deepEqual(
        fromEngine.map((r) => Number(r.lsn)),
        [...fromEngine.map((r) => Number(r.lsn))].sort((a, b) => a - b),
        'sorted by LSN',
      );
    }
  }
  // Promoted values follow each sink's rules (spot checks on what the comparison covers).
  const acme = await rows(`SELECT data_id, n, f, ok, \`__proto__\` AS proto FROM ${tables.tableName('acme', 'events')} ORDER BY lsn, data_id`);
  const expectN = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : null);
  const byId = new Map(entries.slice(0, 3).flatMap((e) => e.batch.rows.map((r) => [r.dataId, r.payload] as const)).reverse());
  for (const r of acme) assert.equal(r.n, expectN(byId.get(r.data_id as string)!.n), `n of ${String(r.data_id)}`);
  assert.ok(acme.some((r) => r.proto === 'proto'), '__proto__ is a real column');
});

test('a part whose file does not hold the rows it was written for fails the batch', async () => {
  const sink = new ParquetSink({ rootDir: path.join(dir, 'parquet-check') });
  const records: StoredRecord[] = [{ dataId: 'a', tsMs: midnight, lsn: 1, payload: {} }];
  await assert.rejects(
    sink.writePartsWith('acme', 'events', [], [
      {
        date: '2026-11-30',
        summary: { rows: 2, firstLsn: 1, lastLsn: 1, minTsMs: midnight, maxTsMs: midnight },
        write: (file, opts) => new EnginePartWriter(runner).write(file, [], records, opts).then(() => undefined),
      },
    ]),
    (err) => isAppError(err) && err.code === 'storage_failure' && /does not hold the rows/.test(err.message),
  );
  assert.deepEqual(await sink.listPartFiles(), [], 'nothing published');
});
