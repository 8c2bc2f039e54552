import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RowRenderer } from '../../src/applier/row-renderer.js';
import { packEntries, renderGroups, type GroupToRender } from '../../src/applier/row-rendering.js';
import { encodeBatch, type IngestBatch } from '../../src/ingest/wal-entry.js';
import { isAppError } from '../../src/platform/errors.js';
import { tableRowLine } from '../../src/storage/clickhouse/tenant-table-schema.js';
import { partRowLine } from '../../src/storage/parquet/index.js';
import type { ColumnSpec, StoredRecord } from '../../src/storage/record-types.js';

const DAY = 86_400_000;
const columns: ColumnSpec[] = [
  { name: 'n', type: 'Int64' },
  { name: 'ok', type: 'Bool' },
  { name: 'constructor', type: 'String' },
  { name: '__proto__', type: 'String' },
];
const t0 = Date.UTC(2026, 10, 30, 23, 59, 59);

const batches: Array<{ lsn: number; batch: IngestBatch }> = [
  {
    lsn: 7,
    batch: {
      tenant: 'acme',
      rows: [
        { table: 'events', dataId: 'a', tsMs: t0, payload: { n: 2 ** 60, ok: true, constructor: 'x"\\\u0000ü', ['__proto__']: 'p' } },
        { table: 'other', dataId: 'b', tsMs: t0, payload: { n: 1 } },
        { table: 'events', dataId: 'c', tsMs: t0 + 2000, payload: { n: 'not a number', ok: false } },
      ],
    },
  },
  { lsn: 8, batch: { tenant: 'acme', rows: [{ table: 'events', dataId: 'd', tsMs: t0 - DAY, payload: { n: -3, nested: { a: [1, 2] } } }] } },
];
const packed = () => packEntries(batches.map((b) => ({ lsn: b.lsn, payload: encodeBatch(b.batch) })));
// events rows a, c (entry 0) and d (entry 1); 'a' is already in the ClickHouse table.
const events: GroupToRender = { tenant: 'acme', table: 'events', columns, rows: Int32Array.from([0, 0, 0, 2, 1, 0]), inTable: ['a'] };

function record(entry: number, row: number): StoredRecord {
  const { lsn, batch } = batches[entry]!;
  const r = batch.rows[row]!;
  return { dataId: r.dataId, tsMs: r.tsMs, lsn, payload: r.payload };
}

test('rendered rows are the lines the record path writes, per sink, per UTC date, with summaries', () => {
  const [g] = renderGroups(packed(), [events]);
  const [a, c, d] = [record(0, 0), record(0, 2), record(1, 0)];
  // ClickHouse: every row but the one the table already holds.
  assert.equal(g!.tableLines.split('\n').length, 2);
  assert.equal(g!.tableLines, [c, d].map((r) => tableRowLine(r, columns)).join('\n'));
  // Parquet: every row, one part per UTC date in date order, each sorted by LSN.
  assert.deepEqual(
    g!.parts.map((p) => p.date),
    ['2026-11-29', '2026-11-30', '2026-12-01'],
  );
  assert.deepEqual(
    g!.parts.map((p) => p.lines),
    [d, a, c].map((r) => partRowLine(r, columns)),
  );
  assert.deepEqual(g!.parts[1]!.summary, { rows: 1, firstLsn: 7, lastLsn: 7, minTsMs: t0, maxTsMs: t0 });
  // Promoted values keep each sink's rules: Int64 past 2^53 is exact text for Parquet.
  assert.equal(JSON.parse(g!.parts[1]!.lines).n, (2n ** 60n).toString());
  assert.equal(JSON.parse(g!.parts[1]!.lines).constructor, 'x"\\\u0000ü');
  // Columns named like Object.prototype members are real columns in both sinks.
  for (const line of [g!.parts[1]!.lines, renderGroups(packed(), [{ ...events, inTable: [] }])[0]!.tableLines.split('\n')[0]!]) {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.ok(Object.hasOwn(parsed, '__proto__'), line);
    assert.equal(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value, 'p');
  }
});

test('a row reference that is not in the group is refused, not written elsewhere', () => {
  assert.throws(() => renderGroups(packed(), [{ ...events, rows: Int32Array.from([0, 1]) }]), /not in acme\/events/);
  assert.throws(() => renderGroups(packed(), [{ ...events, rows: Int32Array.from([1, 5]) }]), /not in acme\/events/);
});

test('the worker renders what renderGroups renders; a failed batch does not break the next', async () => {
  const renderer = new RowRenderer();
  try {
    assert.deepEqual(await renderer.render(packed(), [events]), renderGroups(packed(), [events]));
    const corrupt = packEntries([{ lsn: 1, payload: Buffer.from('{"v":1,"tenant":') }]);
    await assert.rejects(renderer.render(corrupt, [{ ...events, rows: Int32Array.from([0, 0]) }]), (err) => isAppError(err) && err.code === 'storage_failure');
    assert.equal((await renderer.render(packed(), [events]))[0]!.tableLines.split('\n').length, 2);
  } finally {
    await renderer.close();
  }
  await assert.rejects(renderer.render(packed(), [events]), /closed/);
});
