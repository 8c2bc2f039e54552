import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TableEntry } from '../../src/catalog/catalog-store.js';
import { AppError } from '../../src/platform/errors.js';
import { dslQuery, dslToQuery } from '../../src/query/dsl.js';
import { buildLogicalPlan } from '../../src/query/logical-plan.js';
import { bindQuery } from '../../src/query/binder.js';
import { parseSql } from '../../src/query/sql-parser.js';

const entry = (table: string, columns: TableEntry['columns']): TableEntry => ({
  tenant: 'acme',
  table,
  columns,
  rowCount: 100,
  bytes: 0,
  partitions: 0,
  minTsMs: null,
  maxTsMs: null,
  createdAt: 0,
  updatedAt: 0,
});
const CATALOG = [
  entry('events', [
    { name: 'amount', type: 'Float64' },
    { name: 'country', type: 'String' },
    { name: 'paid', type: 'Bool' },
  ]),
  entry('users', [{ name: 'country', type: 'String' }]),
  entry('web-logs', [{ name: 'path', type: 'String' }]),
];

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.status, 400);
    return err;
  }
  assert.fail('expected a 400');
}

test('parses the documented clauses into an AST with positions', () => {
  const q = parseSql(
    "SELECT DISTINCT country AS c, sum(amount) total FROM events AS e\nWHERE amount BETWEEN 1 AND 5 AND country IN ('NL', 'DE') AND country LIKE 'N%' AND paid IS NOT NULL\nGROUP BY country HAVING count(DISTINCT e.country) > 1 ORDER BY total DESC, c LIMIT 10 OFFSET 20;",
  );
  assert.equal(q.distinct, true);
  assert.deepEqual(q.items.map((i) => i.alias), ['c', 'total']);
  assert.equal(q.from.alias, 'e');
  assert.equal(q.limit, 10);
  assert.equal(q.offset, 20);
  assert.equal(q.orderBy[0]!.desc, true);
  assert.equal(q.where?.pos.line, 2);
  assert.equal(q.having?.kind, 'binary');
});

test('keywords are case-insensitive; quoted identifiers keep dashes', () => {
  const q = parseSql('select count(*) from `web-logs` where path like \'/a%\' limit 1');
  assert.equal(q.from.table, 'web-logs');
  const b = bindQuery(q, CATALOG);
  assert.equal(b.outputs[0]!.type, 'UInt64');
});

test('unknown table and column are 400 naming them with line and column', () => {
  const t = refusal(() => bindQuery(parseSql('SELECT 1 FROM nope'), CATALOG));
  assert.match(t.message, /unknown table 'nope'/);
  assert.deepEqual([t.details?.line, t.details?.column], [1, 15]);
  const c = refusal(() => bindQuery(parseSql('SELECT country,\n  amont FROM events'), CATALOG));
  assert.match(c.message, /unknown column 'amont'/);
  assert.deepEqual([c.details?.line, c.details?.column], [2, 3]);
});

test('type errors are 400 with position', () => {
  const e = refusal(() => bindQuery(parseSql("SELECT sum(country) FROM events"), CATALOG));
  assert.match(e.message, /sum\(\) needs numeric/);
  refusal(() => bindQuery(parseSql("SELECT 1 FROM events WHERE amount = 'x'"), CATALOG));
  refusal(() => bindQuery(parseSql('SELECT 1 FROM events WHERE amount'), CATALOG));
  refusal(() => bindQuery(parseSql("SELECT 1 FROM events WHERE country LIKE 5"), CATALOG));
});

test('aggregate rules: no aggregates in WHERE, no ungrouped columns', () => {
  refusal(() => bindQuery(parseSql('SELECT 1 FROM events WHERE sum(amount) > 1'), CATALOG));
  const e = refusal(() => bindQuery(parseSql('SELECT country, amount, count() FROM events GROUP BY country'), CATALOG));
  assert.match(e.message, /'amount' in SELECT must appear in GROUP BY/);
  refusal(() => bindQuery(parseSql('SELECT sum(max(amount)) FROM events'), CATALOG));
  refusal(() => bindQuery(parseSql('SELECT * FROM events GROUP BY country'), CATALOG));
});

test('joins: ambiguous columns, aliases, LEFT JOIN ON rules', () => {
  const amb = refusal(() => bindQuery(parseSql('SELECT country FROM events e JOIN users u ON e.country = u.country'), CATALOG));
  assert.match(amb.message, /ambiguous/);
  const ok = bindQuery(parseSql('SELECT e.country, count() FROM events e LEFT JOIN users u ON e.country = u.country GROUP BY e.country'), CATALOG);
  assert.equal(ok.joins[0]!.type, 'left');
  refusal(() => bindQuery(parseSql('SELECT 1 FROM events e LEFT JOIN users u ON e.amount > 1'), CATALOG));
  refusal(() => bindQuery(parseSql('SELECT 1 FROM events JOIN events ON events.country = events.country'), CATALOG));
});

test('DSL becomes the same logical plan as the equivalent SQL', () => {
  const dsl = dslToQuery(
    dslQuery.parse({
      table: 'events',
      filter: { and: [{ column: 'country', op: 'eq', value: 'NL' }, { column: 'amount', op: 'gt', value: 3 }] },
      groupBy: ['country'],
      aggregations: [{ fn: 'sum', column: 'amount', as: 'total' }],
      orderBy: [{ column: 'total', direction: 'desc' }],
      limit: 5,
    }),
  );
  const fromDsl = buildLogicalPlan(bindQuery(dsl, CATALOG));
  const fromSql = buildLogicalPlan(
    bindQuery(parseSql("SELECT country, sum(amount) AS total FROM events WHERE country = 'NL' AND amount > 3 GROUP BY country ORDER BY total DESC LIMIT 5"), CATALOG),
  );
  assert.deepEqual(fromDsl, fromSql);
});

test('time literals: TIMESTAMP is epoch ms, strings compare with ts_ms and date', () => {
  const b = bindQuery(parseSql("SELECT 1 FROM events WHERE ts_ms >= TIMESTAMP '2026-11-01' AND ts_ms < '2026-11-02T00:00:00Z' AND date = '2026-11-01'"), CATALOG);
  assert.deepEqual(
    b.where.map((w) => (w.k === 'bin' && w.right.k === 'lit' ? w.right.value : null)),
    [Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 2), '2026-11-01'],
  );
  refusal(() => bindQuery(parseSql("SELECT 1 FROM events WHERE ts_ms > TIMESTAMP 'yesterday'"), CATALOG));
});
