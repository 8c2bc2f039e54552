// Measures write throughput; prints it, asserts only that the rows arrived.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, it } from 'node:test';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import { COLUMNS, makeRecords, makeTempDir } from './parquet-test-data.js';

const tmp = makeTempDir('parquet-throughput-');
after(() => tmp.remove());

it('writes 100k records and reports rows/s', async () => {
  const records = makeRecords(100_000);
  const sink = new ParquetSink({ rootDir: path.join(tmp.dir, 'parquet') });
  const started = process.hrtime.bigint();
  const parts = await sink.writeBatch('bench', 'events', COLUMNS, records);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rows = parts.reduce((sum, p) => sum + p.rows, 0);
  const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
  assert.equal(rows, records.length);
  console.log(
    `parquet sink: ${rows} rows in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} rows/s, ` +
      `${(bytes / 1024 / 1024).toFixed(1)} MiB in ${parts.length} files`,
  );
});
