// What the query log keeps of a query: normalized SQL and DSL (literals out,
// names in, one hash per shape), and texts bounded with a marker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundText, hashOf, MAX_QUERY_TEXT_BYTES, normalizeDsl, normalizeSql, statementOf } from '../../src/query/query-statement.js';
import { HOSTILE_SQL } from '../helpers/hostile-sql.js';

test('SQL: literals become ?, keywords upper case, comments and spacing gone', () => {
  const cases: Array<[string, string]> = [
    ["SELECT country, count() AS n FROM events WHERE amount > 40 AND country = 'NL' GROUP BY country", 'SELECT country, count() AS n FROM events WHERE amount > ? AND country = ? GROUP BY country'],
    ['select  a,\n\tb from t where x >= 1.5e3 -- secret: 42\nlimit 10 offset 20', 'SELECT a, b FROM t WHERE x >= ? LIMIT ? OFFSET ?'],
    ["SELECT a FROM t /* the password is hunter2 */ WHERE s LIKE '%hunter2%'", 'SELECT a FROM t WHERE s LIKE ?'],
    ["SELECT count() FROM events WHERE ts_ms >= TIMESTAMP '2026-11-01' AND date = DATE '2026-11-02'", 'SELECT count() FROM events WHERE ts_ms >= TIMESTAMP ? AND date = DATE ?'],
    ['SELECT a - 5, -3 FROM t WHERE b = -2 AND c BETWEEN -1 AND 4', 'SELECT a - ?, ? FROM t WHERE b = ? AND c BETWEEN ? AND ?'],
    ['SELECT x FROM t WHERE y IN (1) AND z IN (1, 2, 3) AND round(x, 2) > 1', 'SELECT x FROM t WHERE y IN (?..) AND z IN (?..) AND round(x, ?) > ?'],
    ['SELECT "my col", `other` FROM "web-logs" WHERE "my col" IS NOT NULL', 'SELECT "my col", "other" FROM "web-logs" WHERE "my col" IS NOT NULL'],
    ['SELECT e.a FROM events e JOIN users u ON e.k = u.k', 'SELECT e.a FROM events e JOIN users u ON e.k = u.k'],
  ];
  for (const [sql, want] of cases) assert.equal(normalizeSql(sql), want, sql);
});

test('SQL: the same shape with other values, case, comments or list lengths has one hash; another shape another', () => {
  const a = statementOf({ sql: "SELECT a FROM t WHERE b = 'x' AND c IN (1, 2)" })!;
  const b = statementOf({ sql: "select a from t where b = 'something else' and c in (7) -- note" })!;
  const c = statementOf({ sql: "SELECT a FROM t WHERE b != 'x' AND c IN (1, 2)" })!;
  assert.equal(a.normalizedHash, b.normalizedHash);
  assert.notEqual(a.normalizedHash, c.normalizedHash);
  assert.match(a.normalizedHash, /^\d{1,20}$/);
  assert.ok(BigInt(a.normalizedHash) < 2n ** 64n);
  assert.equal(a.normalizedHash, hashOf(a.normalized));
});

test('SQL that does not lex has no shape to show, and never its text', () => {
  for (const sql of ["SELECT 'unterminated secret", 'SELECT a FROM t WHERE x = $1', 'SELECT /* open']) {
    const n = normalizeSql(sql);
    assert.equal(n, '(SQL that does not lex)', sql);
  }
  // Hostile SQL the parser refuses still normalizes without throwing and without its literals.
  for (const h of HOSTILE_SQL) {
    const n = normalizeSql(h.sql);
    assert.equal(typeof n, 'string');
    assert.doesNotMatch(n, /'[^']+'/, `${h.why}: no quoted literal survives`);
  }
});

test('DSL: names stay, every value is ?, lists are ?.., keys sorted, unknown keys hidden', () => {
  assert.equal(
    normalizeDsl({ table: 'events', limit: 10, filter: { and: [{ column: 'country', op: 'in', value: ['NL', 'DE'] }, { column: 'amount', op: 'gt', value: 3 }] }, aggregations: [{ fn: 'sum', column: 'amount', as: 'total' }], groupBy: ['country'] }),
    '{"aggregations":[{"as":"total","column":"amount","fn":"sum"}],"filter":{"and":[{"column":"country","op":"in","value":"?.."},{"column":"amount","op":"gt","value":"?"}]},"groupBy":["country"],"limit":"?","table":"events"}',
  );
  // Keys in another order: the same text and hash.
  const x = statementOf({ dsl: { filter: { value: 1, op: 'eq', column: 'a' }, table: 't' } })!;
  const y = statementOf({ dsl: { table: 't', filter: { column: 'a', op: 'eq', value: 99 } } })!;
  assert.equal(x.normalized, y.normalized);
  assert.equal(x.normalizedHash, y.normalizedHash);
  // What an invalid DSL carries where names belong is not shown unless it is a short string.
  assert.equal(normalizeDsl({ table: 'x'.repeat(200), 'secret-key': 'hunter2', column: { nested: 'hunter2' } }), '{"column":{"?":"?"},"?":"?","table":"?"}');
  assert.equal(normalizeDsl('just a string'), '"?"');
  assert.equal(normalizeDsl(null), '"?"');
  // Deep nesting is bounded.
  let deep: unknown = { column: 'a', op: 'eq', value: 1 };
  for (let i = 0; i < 500; i++) deep = { not: deep };
  assert.ok(normalizeDsl({ table: 't', filter: deep }).length < 2000);
});

test('texts over 64 KiB are cut at a character boundary with a marker giving their length', () => {
  const short = boundText('SELECT 1');
  assert.deepEqual(short, { text: 'SELECT 1', bytes: 8, truncated: false });
  for (const unit of ['a', 'é', '€', '😀']) {
    const raw = unit.repeat(Math.ceil((MAX_QUERY_TEXT_BYTES * 2) / Buffer.byteLength(unit)));
    const b = boundText(raw);
    assert.equal(b.truncated, true);
    assert.equal(b.bytes, Buffer.byteLength(raw));
    assert.ok(Buffer.byteLength(b.text) <= MAX_QUERY_TEXT_BYTES, unit);
    assert.ok(Buffer.byteLength(b.text) > MAX_QUERY_TEXT_BYTES - 64, unit);
    assert.ok(b.text.endsWith(` … [truncated: ${b.bytes} bytes in all]`));
    assert.ok(!b.text.includes('\uFFFD'), `${unit}: no broken character at the cut`);
    assert.ok(raw.startsWith(b.text.slice(0, b.text.indexOf(' … [truncated'))));
  }
  // Exactly at the bound: kept whole.
  assert.equal(boundText('x'.repeat(MAX_QUERY_TEXT_BYTES)).truncated, false);
  // Lone surrogates (valid in JSON, not in UTF-8) become U+FFFD, so ClickHouse takes the row.
  assert.equal(boundText('a\ud800b\udc00').text, 'a\uFFFDb\uFFFD');
});

test('a statement records its kind, bounded text, whole size and normalized form', () => {
  const sql = `SELECT a FROM t WHERE s = '${'é'.repeat(33_000)}'`;
  const s = statementOf({ sql })!;
  assert.equal(s.kind, 'sql');
  assert.equal(s.truncated, true);
  assert.equal(s.textBytes, Buffer.byteLength(sql));
  assert.equal(s.normalized, 'SELECT a FROM t WHERE s = ?');
  const d = statementOf({ dsl: { table: 't' } })!;
  assert.equal(d.kind, 'dsl');
  assert.equal(d.text, '{"table":"t"}');
  assert.equal(statementOf({}), undefined);
});
