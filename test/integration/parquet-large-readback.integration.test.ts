// A part with many pages and several row groups must be readable by ClickHouse:
// the Parquet library's page index was wrong for multi-page columns, and small
// test files (one page per column) never showed it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Session } from 'chdb';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import { quoteString } from '../../src/storage/clickhouse/sql-literal.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

test('a 70,000-row part (many pages, three row groups) reads back whole through ClickHouse', async () => {
  const dir = makeTempDir('pq-large');
  const sink = new ParquetSink({ rootDir: path.join(dir, 'parquet') });
  const session = new Session(path.join(dir, 'chdb'));
  try {
    const n = 70_000;
    const records = Array.from({ length: n }, (_, i) => ({
      dataId: `id-${i}`,
      tsMs: Date.parse('2026-01-01T00:00:00Z') + i,
      lsn: i + 1,
      payload: { amount: i * 0.5, country: ['NL', 'DE', 'FR'][i % 3]!, ok: i % 2 === 0 },
    }));
    const columns = [
      { name: 'amount', type: 'Float64' as const },
      { name: 'country', type: 'String' as const },
      { name: 'ok', type: 'Bool' as const },
    ];
    const parts = await sink.writeBatch('big', 'events', columns, records);
    assert.equal(parts.length, 1);
    const sql =
      `SELECT count() AS n, uniqExact(data_id) AS ids, sum(lsn) AS lsns, sum(amount) AS amount, countIf(country = 'DE') AS de, countIf(ok) AS oks ` +
      `FROM file(${quoteString(parts[0]!.path)}, Parquet)`;
    const row = JSON.parse((await session.queryAsync(sql, { format: 'JSONEachRow' })).text()) as Record<string, string | number>;
    assert.equal(Number(row.n), n);
    assert.equal(Number(row.ids), n);
    assert.equal(Number(row.lsns), (n * (n + 1)) / 2);
    assert.equal(Number(row.amount), records.reduce((s, r) => s + r.payload.amount, 0));
    assert.equal(Number(row.de), Math.floor(n / 3) + (n % 3 > 1 ? 1 : 0));
    assert.equal(Number(row.oks), n / 2);
  } finally {
    session.close();
    await sink.close();
    removeTempDir(dir);
  }
});
