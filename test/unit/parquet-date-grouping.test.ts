import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredRecord } from '../../src/storage/parquet/index.js';
import { groupByUtcDate, isValidDate, utcDateOf } from '../../src/storage/parquet/utc-date.js';

const MIDNIGHT = Date.UTC(2024, 11, 31, 0, 0, 0, 0) + 86_400_000; // 2025-01-01T00:00:00Z

function rec(lsn: number, tsMs: number): StoredRecord {
  return { dataId: `d${lsn}`, tsMs, lsn, payload: {} };
}

const fail = (r: StoredRecord, i: number): never => {
  throw new Error(`invalid record ${i} ${r.tsMs}`);
};

describe('UTC date grouping', () => {
  it('splits exactly at UTC midnight', () => {
    assert.equal(utcDateOf(MIDNIGHT - 1), '2024-12-31');
    assert.equal(utcDateOf(MIDNIGHT), '2025-01-01');
  });

  it('groups across midnight, dates ascending, each group sorted by LSN', () => {
    const records = [rec(5, MIDNIGHT + 10), rec(1, MIDNIGHT - 1), rec(3, MIDNIGHT), rec(2, MIDNIGHT - 3_600_000), rec(4, MIDNIGHT - 2)];
    const groups = groupByUtcDate(records, fail);
    assert.deepEqual([...groups.keys()], ['2024-12-31', '2025-01-01']);
    assert.deepEqual(groups.get('2024-12-31')!.map((r) => r.lsn), [1, 2, 4]);
    assert.deepEqual(groups.get('2025-01-01')!.map((r) => r.lsn), [3, 5]);
  });

  it('does not depend on the process time zone', () => {
    // 23:30 UTC is already the next day in UTC+1 and still the same day in UTC-1.
    const ts = Date.UTC(2024, 5, 1, 23, 30);
    assert.equal(utcDateOf(ts), '2024-06-01');
  });

  it('handles timestamps before 1970', () => {
    assert.equal(utcDateOf(-1), '1969-12-31');
  });

  it('reports timestamps without a 4-digit-year date', () => {
    for (const ts of [Number.NaN, 1.5, Date.UTC(10000, 0, 1), Date.UTC(-1, 0, 1), 8.64e15 + 1]) {
      assert.equal(utcDateOf(ts), null, String(ts));
    }
    assert.throws(() => groupByUtcDate([rec(1, Number.NaN)], fail), /invalid record 0/);
  });

  it('groups every record under utcDateOf(tsMs), also across days, years and the year-9999 edge', () => {
    const day = 86_400_000;
    const edges = [0, -1, MIDNIGHT, MIDNIGHT - 1, Date.UTC(0, 0, 1), Date.UTC(0, 0, 1) - 1, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1)];
    const stamps = [...edges, ...Array.from({ length: 200 }, (_, i) => -5 * day + i * 3_600_000 * 7 + (i % 13) - 6)];
    const records = stamps.map((ts, i) => rec(i + 1, ts));
    const valid = records.filter((r) => utcDateOf(r.tsMs) !== null);
    const groups = groupByUtcDate(valid, fail);
    for (const [date, group] of groups) for (const r of group) assert.equal(utcDateOf(r.tsMs), date, String(r.tsMs));
    assert.equal([...groups.values()].reduce((sum, g) => sum + g.length, 0), valid.length);
    assert.throws(() => groupByUtcDate([rec(1, Date.UTC(10000, 0, 1) + 5)], fail), /invalid record 0/);
  });

  it('validates partition dates', () => {
    assert.ok(isValidDate('2024-02-29'));
    assert.ok(!isValidDate('2023-02-29'));
    assert.ok(!isValidDate('2024-13-01'));
    assert.ok(!isValidDate('../../etc'));
  });
});
