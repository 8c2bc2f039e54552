// Reads the sink's files back with an independent Parquet reader (ClickHouse
// via chdb), so a bug shared by our writer and parquetjs's reader cannot hide.
// Both part writers run the same checks: parquetjs on worker threads and the
// embedded ClickHouse's native encoder.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Session } from 'chdb';
import { ChdbEngine } from '../../src/storage/clickhouse/chdb-engine.js';
import { EnginePartWriter, ParquetSink } from '../../src/storage/parquet/index.js';
import type { StoredRecord, WrittenPart } from '../../src/storage/parquet/index.js';
import { COLUMNS, expectedPromoted, makeRecords, makeTempDir, sqlString } from './parquet-test-data.js';

const tmp = makeTempDir('parquet-readback-');
let session: Session;
// The writer's engine shares the reader's data dir, as one process's engine would.
const engine = new ChdbEngine({ dataDir: path.join(tmp.dir, 'chdb'), database: 'parquet_writer' });

before(async () => {
  session = new Session(path.join(tmp.dir, 'chdb'));
  await engine.open();
});
after(async () => {
  await engine.close();
  session.cleanup();
  tmp.remove();
});

async function readWithClickHouse(file: string): Promise<Record<string, unknown>[]> {
  const result = await session.queryAsync(`SELECT * FROM file(${sqlString(file)}, Parquet) ORDER BY lsn`, {
    format: 'JSONEachRow',
  });
  return result
    .text()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function describeTypes(file: string): Promise<Record<string, string>> {
  // Hive partitioning off: describe the file's own columns, not the `date`
  // that ClickHouse derives from the date=YYYY-MM-DD directory.
  const result = await session.queryAsync(
    `DESCRIBE file(${sqlString(file)}, Parquet) SETTINGS use_hive_partitioning = 0`,
    { format: 'JSONEachRow' },
  );
  const rows = result
    .text()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { name: string; type: string });
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

for (const writer of ['parquetjs', 'engine'] as const) describe(`parquet sink (${writer} writer) read back through ClickHouse`, () => {
  const records = makeRecords(5_000);
  const root = path.join(tmp.dir, `parquet-${writer}`);
  let sink: ParquetSink;
  let parts: WrittenPart[];

  before(async () => {
    // Small row groups so that every file has several of them.
    sink = new ParquetSink({ rootDir: root, rowGroupRows: 1_000, ...(writer === 'engine' ? { writer: new EnginePartWriter(engine) } : {}) });
    parts = await sink.writeBatch('tenant-a', 'events', COLUMNS, records);
  });
  after(() => sink.close());

  it('writes one file per UTC date with the documented layout', () => {
    assert.equal(parts.length, 2);
    assert.deepEqual(
      parts.map((p) => p.relativePath),
      [
        'tenant-a/events/date=2024-02-28/part-00000000000000000001-00000000000000004999.parquet',
        'tenant-a/events/date=2024-02-29/part-00000000000000000002-00000000000000005000.parquet',
      ],
    );
    for (const p of parts) {
      assert.equal(p.rows, 2_500);
      assert.equal(p.bytes, fs.statSync(p.path).size);
      assert.ok(path.isAbsolute(p.path));
    }
  });

  it('lists the parts from their footers as they were reported when written', async () => {
    assert.deepEqual(await sink.listParts(), parts);
  });

  it('ClickHouse types the columns as documented', async () => {
    assert.deepEqual(await describeTypes(parts[0]!.path), {
      data_id: 'String',
      ts_ms: 'Int64',
      lsn: 'Int64',
      payload: 'String',
      n: 'Nullable(Int64)',
      f: 'Nullable(Float64)',
      s: 'Nullable(String)',
      b: 'Nullable(Bool)',
      constructor: 'Nullable(String)',
    });
  });

  it('every row reads back identical to what was written', async () => {
    const byDate = new Map<string, StoredRecord[]>();
    for (const r of records) {
      const date = new Date(r.tsMs).toISOString().slice(0, 10);
      byDate.set(date, [...(byDate.get(date) ?? []), r]);
    }
    let checked = 0;
    for (const part of parts) {
      const expected = byDate.get(part.date)!;
      const rows = await readWithClickHouse(part.path);
      assert.equal(rows.length, expected.length, part.relativePath);
      rows.forEach((row, i) => {
        const want = expected[i]!;
        assert.equal(row.data_id, want.dataId);
        assert.equal(row.ts_ms, want.tsMs);
        assert.equal(row.lsn, want.lsn);
        // Not a file column: ClickHouse's hive partitioning reads it from the directory name.
        assert.equal(row.date, part.date);
        assert.equal(typeof row.payload, 'string');
        assert.deepEqual(JSON.parse(row.payload as string), want.payload, `payload of lsn ${want.lsn}`);
        const promoted = expectedPromoted(want);
        for (const col of COLUMNS) {
          assert.deepEqual(row[col.name], promoted[col.name], `${col.name} of lsn ${want.lsn}`);
        }
        checked++;
      });
      assert.equal(part.minTsMs, Math.min(...expected.map((r) => r.tsMs)));
      assert.equal(part.maxTsMs, Math.max(...expected.map((r) => r.tsMs)));
    }
    assert.equal(checked, records.length);
  });

  it('ClickHouse can filter and aggregate the files by path glob', async () => {
    const glob = path.join(root, 'tenant-a', 'events', 'date=*', '*.parquet');
    const res = await session.queryAsync(
      `SELECT count() AS c, countIf(b) AS t, max(n) AS mx, min(ts_ms) AS lo FROM file(${sqlString(glob)}, Parquet)`,
      { format: 'JSONEachRow' },
    );
    const row = JSON.parse(res.text()) as { c: number; t: number; mx: number; lo: number };
    assert.equal(row.c, records.length);
    assert.equal(row.t, records.filter((r) => expectedPromoted(r).b === true).length);
    assert.equal(row.mx, 2 ** 53 - 1);
    assert.equal(row.lo, Math.min(...records.map((r) => r.tsMs)));
  });
});
