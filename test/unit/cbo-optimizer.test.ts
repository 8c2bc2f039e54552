import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PartEntry, TableEntry } from '../../src/catalog/catalog-store.js';
import { DEFAULT_WEIGHTS } from '../../src/query/cbo/cost-model.js';
import { optimize, type JoinNode, type ScanNode } from '../../src/query/cbo/optimizer.js';
import { timeRangeOf } from '../../src/query/cbo/partition-pruner.js';
import type { TableStats } from '../../src/query/column-stats.js';
import { bindQuery } from '../../src/query/binder.js';
import { generateSql } from '../../src/query/sql-generator.js';
import { parseSql } from '../../src/query/sql-parser.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 1);

function entry(table: string, rows: number, days: number): TableEntry {
  return {
    tenant: 'acme',
    table,
    columns: [
      { name: 'country', type: 'String' },
      { name: 'amount', type: 'Float64' },
    ],
    rowCount: rows,
    bytes: 0,
    partitions: days,
    minTsMs: T0,
    maxTsMs: T0 + days * DAY - 1,
    createdAt: 0,
    updatedAt: 1,
  };
}

function parts(table: string, rows: number, days: number): PartEntry[] {
  return Array.from({ length: days }, (_, d) => {
    const date = new Date(T0 + d * DAY).toISOString().slice(0, 10);
    return { tenant: 'acme', table, date, relativePath: `acme/${table}/date=${date}/part-1-1.parquet`, firstLsn: 1, lastLsn: 1, rows: rows / days, bytes: 1, minTsMs: T0 + d * DAY, maxTsMs: T0 + (d + 1) * DAY - 1 };
  });
}

const stats = (table: string, rows: number, countryNdv: number): TableStats => ({
  tenant: 'acme',
  table,
  rowCount: rows,
  computedAt: 1,
  tableUpdatedAt: 1,
  columns: { country: { distinct: countryNdv, nullFraction: 0 }, data_id: { distinct: rows, nullFraction: 0 }, amount: { distinct: rows, nullFraction: 0.1, min: 0, max: 1000 } },
});

const CATALOG = [entry('events', 60_000_000, 60), entry('users', 1_000, 60), entry('orders', 50_000, 60)];
const PARTS = new Map(CATALOG.map((t, i) => [i, parts(t.table, t.rowCount, 60)]));

function plan(sql: string, engineKind: 'embedded' | 'server' = 'embedded', weights = DEFAULT_WEIGHTS) {
  const q = bindQuery(parseSql(sql), CATALOG);
  const p = new Map(q.tables.map((t) => [t.idx, parts(t.table, t.entry.rowCount, 60)]));
  const s = new Map(q.tables.map((t) => [t.idx, stats(t.table, t.entry.rowCount, t.table === 'users' ? 1000 : 50)]));
  return optimize(q, { parts: p, stats: s, engineKind, weights });
}

test('time predicates prune partitions and estimate the rows in range', () => {
  const p = plan("SELECT count() FROM events WHERE ts_ms >= TIMESTAMP '2026-10-11' AND ts_ms < TIMESTAMP '2026-10-21'");
  const scan = p.tree as ScanNode;
  assert.deepEqual(scan.partitions, { total: 60, kept: 10, pruned: 50 });
  assert.ok(Math.abs(scan.estRows - 10_000_000) < 1, String(scan.estRows));
  assert.ok(p.partitions.pruned === 50);
  void PARTS;
});

test('a narrow time range of a large table on the embedded engine reads exactly the surviving Parquet files', () => {
  const p = plan("SELECT sum(amount) FROM events WHERE date = '2026-10-05'");
  const scan = p.tree as ScanNode;
  assert.equal(scan.source, 'parquet');
  assert.deepEqual(scan.files, ['acme/events/date=2026-10-05/part-1-1.parquet']);
  const sql = generateSql(p, { tenant: 'acme', tableName: (t) => `\`db\`.\`acme__${t}\``, parquetRoot: '/data/parquet' }).sql;
  assert.match(sql, /file\('\/data\/parquet\/acme\/events\/date=2026-10-05\/part-1-1\.parquet', Parquet\)/);
});

test('the server never gets a Parquet scan; a full scan stays on ClickHouse', () => {
  assert.equal((plan("SELECT sum(amount) FROM events WHERE date = '2026-10-05'", 'server').tree as ScanNode).source, 'clickhouse');
  assert.equal((plan('SELECT sum(amount) FROM events').tree as ScanNode).source, 'clickhouse');
  assert.equal((plan("SELECT sum(amount) FROM orders WHERE date = '2026-10-05'").tree as ScanNode).source, 'clickhouse', 'a small table is not worth a file open');
  const off = plan("SELECT sum(amount) FROM events WHERE date = '2026-10-05'", 'embedded', { ...DEFAULT_WEIGHTS, parquetEnabled: false });
  assert.equal((off.tree as ScanNode).source, 'clickhouse');
});

test('ClickHouse scans get date bounds so month partitions are skipped', () => {
  const p = plan("SELECT count() FROM events WHERE ts_ms >= TIMESTAMP '2026-11-01'", 'server');
  const sql = generateSql(p, { tenant: 'acme', tableName: (t) => `\`db\`.\`acme__${t}\``, parquetRoot: '/p' }).sql;
  assert.match(sql, /`date` >= toDate\('2026-11-01'\)/);
});

test('predicate and limit pushdown', () => {
  const p = plan("SELECT data_id FROM events WHERE country = 'NL' LIMIT 10");
  const scan = p.tree as ScanNode;
  assert.equal(scan.limit, 10);
  assert.equal(scan.estRows, 10);
  assert.equal(scan.filter.length, 1);
  const agg = plan("SELECT country, count() FROM events WHERE amount > 500 GROUP BY country LIMIT 10");
  assert.equal((agg.tree as ScanNode).limit, undefined);
  assert.ok(Math.abs((agg.tree as ScanNode).estRows - 60_000_000 * 0.5 * 0.9) < 1);
});

test('join order: the largest input probes, the smaller builds; estimates use key distinct counts', () => {
  const p = plan('SELECT count() FROM users u JOIN events e ON u.data_id = e.data_id');
  const j = p.tree as JoinNode;
  assert.equal(j.op, 'join');
  assert.equal((j.left as ScanNode).table, 'events');
  assert.equal(j.right.table, 'users');
  assert.equal(p.joinReordered, true);
  assert.ok(j.estRows > 0 && j.estRows <= 1_000, String(j.estRows));

  const three = plan('SELECT count() FROM users u JOIN events e ON u.data_id = e.data_id JOIN orders o ON o.data_id = e.data_id');
  const top = three.tree as JoinNode;
  const inner = top.left as JoinNode;
  assert.equal((inner.left as ScanNode).table, 'events');
  assert.equal(inner.right.table, 'users');
  assert.equal(top.right.table, 'orders');
  for (const n of [top, inner, inner.left as ScanNode, inner.right, top.right]) assert.ok(Number.isFinite(n.estRows) && Number.isFinite(n.cost));
});

test('LEFT JOIN keeps its order and keeps right-side WHERE conjuncts above the join', () => {
  const p = plan("SELECT count() FROM users u LEFT JOIN events e ON u.data_id = e.data_id WHERE e.country = 'NL'");
  const j = p.tree as JoinNode;
  assert.equal((j.left as ScanNode).table, 'users');
  assert.equal(j.right.filter.length, 0);
  assert.equal(p.residual.length, 1);
});

test('time range extraction handles BETWEEN, reversed comparisons and dates', () => {
  const q = bindQuery(parseSql("SELECT 1 FROM events WHERE TIMESTAMP '2026-10-02' <= ts_ms AND date BETWEEN '2026-10-01' AND '2026-10-03'"), CATALOG);
  assert.deepEqual(timeRangeOf(q.where), { fromMs: Date.UTC(2026, 9, 2), toMs: Date.UTC(2026, 9, 4) });
});
