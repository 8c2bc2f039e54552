// Inputs of the worker contract suite, per designated route: valid and invalid
// bodies (raw bytes, as a client may send them), hand-picked around every rule
// of the parser and its body schema, from the query corpora, and generated
// (seeded, so a failure names a case that can be replayed).
import { HOSTILE_SQL } from '../helpers/hostile-sql.js';
import { HOSTILE_STRINGS } from '../helpers/hostile-strings.js';
import { CORPUS } from '../helpers/query-corpus.js';
import { prng } from '../helpers/seeded-random.js';

export interface ContractCase {
  name: string;
  body: string | Buffer;
}

const sqlCase = (name: string, sql: string, key: 'sql' | 'query' = 'sql'): ContractCase => ({ name, body: JSON.stringify({ [key]: sql }) });
const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

const HAND_SQL: Array<[string, string]> = [
  ['plain select', 'SELECT a FROM events'],
  ['star', 'SELECT * FROM events'],
  ['star and more', 'SELECT *, a FROM events'],
  ['distinct all', 'SELECT DISTINCT a FROM events'],
  ['select all', 'SELECT ALL a FROM events'],
  ['aliases', 'SELECT a AS x, b y, "c d" FROM events e'],
  ['quoted names', 'SELECT `weird col`, "x""y" FROM "my-table" AS "t"'],
  ['qualified columns', 'SELECT e.a, e."b" FROM events e'],
  ['qualified star', 'SELECT e.* FROM events e'],
  ['inner join', 'SELECT e.a FROM events e INNER JOIN users u ON e.u = u.id'],
  ['left outer join', 'SELECT e.a FROM events e LEFT OUTER JOIN users u ON e.u = u.id AND u.x > 1'],
  ['right join', 'SELECT 1 FROM events e RIGHT JOIN users u ON e.u = u.id'],
  ['join using', 'SELECT 1 FROM events e JOIN users u USING (id)'],
  ['comma join', 'SELECT 1 FROM events, users'],
  ['where all predicates', "SELECT a FROM t WHERE a = 1 AND b != 2 AND c <> 3 AND d < 4 AND e <= 5 AND f > 6 AND g >= 7 OR NOT h"],
  ['in list', "SELECT a FROM t WHERE a IN (1, 'x', -2.5, NULL) AND b NOT IN ('y')"],
  ['empty in', 'SELECT a FROM t WHERE a IN ()'],
  ['in subquery', 'SELECT a FROM t WHERE a IN (SELECT b FROM u)'],
  ['between', 'SELECT a FROM t WHERE a BETWEEN 1 AND 2 AND b NOT BETWEEN -1 AND +3'],
  ['like ilike', "SELECT a FROM t WHERE a LIKE 'x%' AND b NOT ILIKE '%Y'"],
  ['is null', 'SELECT a FROM t WHERE a IS NULL AND b IS NOT NULL'],
  ['is without null', 'SELECT a FROM t WHERE a IS 1'],
  ['case', "SELECT CASE WHEN a > 1 THEN 'big' WHEN a < 0 THEN 'neg' ELSE 'small' END AS size FROM t"],
  ['simple case', 'SELECT CASE a WHEN 1 THEN 2 END FROM t'],
  ['case without end', 'SELECT CASE WHEN a THEN 1 FROM t'],
  ['arithmetic', 'SELECT a + b * c - d / e % f || g, -a, - -a, +a, -(1), -1.5e3, -0 FROM t'],
  ['functions', 'SELECT count(), count(*), count(DISTINCT a), sum(a + 1), toDate(ts_ms), lower(x) FROM t'],
  ['quoted function', 'SELECT "count"(a) FROM t'],
  ['window function', 'SELECT count() OVER () FROM t'],
  ['typed literals', "SELECT a FROM t WHERE ts_ms >= TIMESTAMP '2026-11-01' AND date = DATE '2026-11-20'"],
  ['timestamp as a column', 'SELECT TIMESTAMP, DATE FROM t'],
  ['interval', 'SELECT a FROM t WHERE ts_ms > now() - INTERVAL 1 DAY'],
  ['group having order limit', 'SELECT a, count() AS n FROM t GROUP BY a HAVING count() > 1 ORDER BY n DESC, a ASC LIMIT 10 OFFSET 5'],
  ['limit comma', 'SELECT a FROM t LIMIT 5, 10'],
  ['offset alone', 'SELECT a FROM t OFFSET 3'],
  ['limit not integer', 'SELECT a FROM t LIMIT 1.5'],
  ['limit negative', 'SELECT a FROM t LIMIT -1'],
  ['limit too big', 'SELECT a FROM t LIMIT 9007199254740993'],
  ['limit max safe', 'SELECT a FROM t LIMIT 9007199254740991'],
  ['nulls first', 'SELECT a FROM t ORDER BY a NULLS FIRST'],
  ['trailing semicolon', 'SELECT a FROM t;'],
  ['two statements', 'SELECT a FROM t; SELECT b FROM u'],
  ['semicolon then garbage', 'SELECT a FROM t; ;'],
  ['missing from', 'SELECT 1'],
  ['from keyword table', 'SELECT a FROM WHERE'],
  ['from number', 'SELECT a FROM 1'],
  ['subquery from', 'SELECT a FROM (SELECT 1)'],
  ['paren from', 'SELECT a FROM (t)'],
  ['db qualified', 'SELECT a FROM system.tables'],
  ['table function', "SELECT a FROM file('x')"],
  ['final', 'SELECT a FROM t FINAL'],
  ['parenthesised query', '(SELECT a FROM t)'],
  ['not a select', 'DROP TABLE t'],
  ['misspelt select (the issue)', 'SELEC nope FROM'],
  ['empty', ''],
  ['spaces only', '   '],
  ['js white space only', '\u00a0\ufeff\u2028\u3000\v'],
  ['python-only white space', '\u001c\u001d'],
  ['tab newline carriage return form feed', 'SELECT\ta\r\nFROM\ft'],
  ['line and column after newlines', 'SELECT a,\n  b,\n   ;'],
  ['comments', 'SELECT a -- a comment\nFROM /* block\ncomment */ t WHERE x = 1 -- trailing'],
  ['unterminated block comment', 'SELECT a FROM t /* open'],
  ['unterminated string', "SELECT 'abc FROM t"],
  ['unterminated quoted identifier', 'SELECT "abc FROM t'],
  ['escapes', "SELECT 'a\\nb\\tc\\\\d\\'e\\0f' FROM t"],
  ['unsupported escape', "SELECT 'a\\qb' FROM t"],
  ['doubled quotes', "SELECT 'it''s', \"a\"\"b\", `c``d` FROM t"],
  ['backslash at the end', "SELECT 'abc\\"],
  ['numbers', 'SELECT 0, 1, 1.5, .5, 1., 1e3, 1E-3, 1.5e+2, 007 FROM t'],
  ['malformed number', 'SELECT 12abc FROM t'],
  ['number out of range', 'SELECT 1e400 FROM t'],
  ['integer out of range', 'SELECT 9007199254740993 FROM t'],
  ['big float', 'SELECT 123456789012345678901234567890.5, 1e21, 1e-7 FROM t'],
  ['unexpected characters', 'SELECT a # b FROM t'],
  ['dollar', 'SELECT $1 FROM t'],
  ['question mark', 'SELECT ? FROM t'],
  ['non-ascii outside quotes', 'SELECT é FROM t'],
  ['emoji outside quotes', 'SELECT 😀 FROM t'],
  ['emoji inside quotes, positions after it', "SELECT '😀😀', \"🦆\" AS d, x FROM t WHERE y = '👩‍👩‍👧' AND z"],
  ['astral then error', "SELECT '😀' +"],
  ['lone surrogate escape in json', 'SELECT \ud800 FROM t'],
  ['star misuse', 'SELECT a * FROM t'],
  ['star in expression', 'SELECT 1 + * FROM t'],
  ['settings', 'SELECT a FROM t SETTINGS x = 1'],
  ['format', 'SELECT a FROM t FORMAT JSON'],
  ['union', 'SELECT a FROM t UNION ALL SELECT b FROM u'],
  ['with', 'WITH x AS (SELECT 1) SELECT * FROM x'],
  ['prewhere', 'SELECT a FROM t PREWHERE a = 1'],
  ['sample', 'SELECT a FROM t SAMPLE 0.1'],
  ['array join', 'SELECT a FROM t ARRAY JOIN b'],
  ['reserved alias', 'SELECT a AS FROM FROM t'],
  ['expected keyword', 'SELECT a FROM t GROUP a'],
  ['expected paren', 'SELECT count( FROM t'],
  ['dangling operator', 'SELECT a FROM t WHERE a ='],
  ['dangling and', 'SELECT a FROM t WHERE a = 1 AND'],
  ['between without and', 'SELECT a FROM t WHERE a BETWEEN 1 OR 2'],
  ['unexpected keyword in expression', 'SELECT a FROM t WHERE ORDER'],
  ['trailing garbage', 'SELECT a FROM t garbage more'],
  ['qualified function', 'SELECT a.b(1) FROM t'],
  ['db qualified column', 'SELECT a.b.c FROM t'],
  ['column after dot missing', 'SELECT a. FROM t'],
  ['lower case keywords', 'select a from t where b = 1 group by a order by a limit 1'],
  ['mixed case', 'SeLeCt A fRoM T'],
  ['deep parens ok', `SELECT ${'('.repeat(63)}1${')'.repeat(63)} FROM t`],
  ['deep parens too deep', `SELECT ${'('.repeat(64)}1${')'.repeat(64)} FROM t`],
  ['deep not', `SELECT a FROM t WHERE ${'NOT '.repeat(70)}a`],
  ['deep minus', `SELECT ${'- '.repeat(70)}1 FROM t`],
  ['deep calls', `SELECT ${'f('.repeat(70)}1${')'.repeat(70)} FROM t`],
  ['long in list', `SELECT a FROM t WHERE a IN (${Array.from({ length: 500 }, (_, i) => i).join(', ')})`],
  ['long select list', `SELECT ${Array.from({ length: 300 }, (_, i) => `c${i}`).join(', ')} FROM t`],
];

const BODY_CASES: ContractCase[] = [
  { name: 'body: empty object', body: '{}' },
  { name: 'body: empty', body: '' },
  { name: 'body: array', body: '[]' },
  { name: 'body: array of a query', body: '[{"sql":"SELECT a FROM t"}]' },
  { name: 'body: sql null', body: '{"sql":null}' },
  { name: 'body: sql number', body: '{"sql":42}' },
  { name: 'body: sql boolean', body: '{"sql":true}' },
  { name: 'body: sql object', body: '{"sql":{"text":"SELECT 1"}}' },
  { name: 'body: sql array', body: '{"sql":["SELECT 1"]}' },
  { name: 'body: query number', body: '{"query":1.5}' },
  { name: 'body: both sql and query', body: '{"sql":"SELECT a FROM t","query":"SELECT a FROM t"}' },
  { name: 'body: both, one of them wrong', body: '{"sql":"SELECT a FROM t","query":7}' },
  { name: 'body: query alias', body: '{"query":"SELECT a FROM t"}' },
  { name: 'body: unknown key', body: '{"sql":"SELECT a FROM t","dsl":{}}' },
  { name: 'body: unknown keys only', body: '{"text":"SELECT a FROM t","b":1}' },
  { name: 'body: unknown keys in JavaScript order', body: '{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967295":6,"4294967294":7,"sql":"SELECT a FROM t"}' },
  { name: 'body: unknown key with quotes', body: '{"a\\"b":1,"sql":"SELECT a FROM t"}' },
  { name: 'body: __proto__ key', body: '{"__proto__":{"x":1},"sql":"SELECT a FROM t"}' },
  { name: 'body: wrong types, then unknown keys', body: '{"query":false,"sql":[],"x":1}' },
  { name: 'body: duplicate key, last wins', body: '{"sql":1,"sql":"SELECT a FROM t"}' },
  { name: 'body: too long', body: JSON.stringify({ sql: `SELECT ${'a'.repeat(65_530)} FROM t` }) },
  { name: 'body: longest', body: JSON.stringify({ sql: `SELECT a FROM t WHERE b = '${'x'.repeat(65_536 - 28)}'` }) },
  { name: 'body: longest in UTF-16 units with emoji', body: JSON.stringify({ sql: `SELECT '${'😀'.repeat(32_760)}' FROM t` }) },
  { name: 'body: too long in UTF-16 units only', body: JSON.stringify({ sql: `SELECT '${'😀'.repeat(32_761)}' FROM t` }) },
  { name: 'body: lone surrogates as JSON escapes', body: '{"sql":"SELECT \'\\ud800\\udc00 \\udc00 \\ud800\' FROM t"}' },
  { name: 'body: lone surrogate outside a string', body: '{"sql":"SELECT \\udfff FROM t"}' },
  { name: 'body: invalid UTF-8 bytes', body: Buffer.concat([Buffer.from('{"sql":"SELECT \''), Buffer.from([0xff, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x98]), Buffer.from('\' FROM t"}')]) },
  { name: 'body: invalid UTF-8 outside a string', body: Buffer.concat([Buffer.from('{"sql":"SELECT '), Buffer.from([0xc0, 0xaf]), Buffer.from(' FROM t"}')]) },
  { name: 'body: nested deep JSON', body: `{"sql":"SELECT a FROM t","x":${'['.repeat(200)}${']'.repeat(200)}}` },
];

/** A query of the grammar, or close to it (some parts broken on purpose). */
function generatedQuery(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ident = () => pick(['a', 'b', 'country', 'amount', 'ts_ms', 'x1', '_y', '"q c"', '`bt`', 'e.a', 'u.id']);
  const lit = () => pick(['1', '0', '-2', '3.25', "'NL'", "'it''s'", 'NULL', 'TRUE', 'false', "TIMESTAMP '2026-11-01'", "DATE '2026-01-02'", '.5', '1e3']);
  const expr = (d: number): string => {
    const r = rand();
    if (d > 3 || r < 0.3) return rand() < 0.5 ? ident() : lit();
    if (r < 0.45) return `${expr(d + 1)} ${pick(['+', '-', '*', '/', '%', '||'])} ${expr(d + 1)}`;
    if (r < 0.6) return `${expr(d + 1)} ${pick(['=', '!=', '<>', '<', '<=', '>', '>='])} ${expr(d + 1)}`;
    if (r < 0.68) return `${expr(d + 1)} ${pick(['AND', 'OR'])} ${expr(d + 1)}`;
    if (r < 0.72) return `NOT ${expr(d + 1)}`;
    if (r < 0.76) return `(${expr(d + 1)})`;
    if (r < 0.8) return `${ident()} ${pick(['IN', 'NOT IN'])} (${lit()}, ${lit()})`;
    if (r < 0.84) return `${ident()} ${pick(['BETWEEN', 'NOT BETWEEN'])} ${lit()} AND ${lit()}`;
    if (r < 0.87) return `${ident()} ${pick(['LIKE', 'NOT ILIKE'])} ${lit()}`;
    if (r < 0.9) return `${ident()} IS ${pick(['NULL', 'NOT NULL'])}`;
    if (r < 0.95) return `${pick(['count', 'sum', 'avg', 'min', 'max', 'lower'])}(${pick(['', '*', 'DISTINCT '])}${rand() < 0.7 ? ident() : ''})`;
    return `CASE WHEN ${expr(d + 1)} THEN ${lit()} ${rand() < 0.5 ? `ELSE ${lit()} ` : ''}END`;
  };
  const parts = [`SELECT ${rand() < 0.1 ? 'DISTINCT ' : ''}${rand() < 0.1 ? '*' : Array.from({ length: 1 + Math.floor(rand() * 3) }, () => `${expr(1)}${rand() < 0.3 ? ` AS ${pick(['n', 'x', '"al"'])}` : ''}`).join(', ')}`];
  parts.push(`FROM ${pick(['events', 'users', 'clicks', '"web-logs"'])}${rand() < 0.3 ? ' e' : ''}`);
  if (rand() < 0.2) parts.push(`${pick(['JOIN', 'LEFT JOIN', 'INNER JOIN'])} users u ON ${expr(2)}`);
  if (rand() < 0.6) parts.push(`WHERE ${expr(1)}`);
  if (rand() < 0.3) parts.push(`GROUP BY ${ident()}${rand() < 0.3 ? ` HAVING ${expr(2)}` : ''}`);
  if (rand() < 0.3) parts.push(`ORDER BY ${ident()} ${pick(['', 'ASC', 'DESC'])}`);
  if (rand() < 0.3) parts.push(`LIMIT ${pick(['10', '0', '5, 10', '3 OFFSET 2'])}`);
  let q = parts.join(rand() < 0.1 ? '\n  ' : ' ');
  // Break one in four at a random place.
  if (rand() < 0.25) {
    const at = Math.floor(rand() * q.length);
    q = q.slice(0, at) + pick(['', ' )', ' (', ' ,', ' FROM', "'", '"', ' ;', ' #', ' 1x', ' WHERE']) + q.slice(at + Math.floor(rand() * 4));
  }
  return q;
}

/** Random tokens, mostly nonsense: the lexer's and the parser's error paths. */
function tokenSoup(rand: () => number): string {
  const vocabulary = [
    'SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'ORDER', 'LIMIT', 'OFFSET', 'JOIN', 'LEFT', 'ON', 'AS', 'AND', 'OR', 'NOT', 'IN',
    'BETWEEN', 'LIKE', 'IS', 'NULL', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'DISTINCT', 'SETTINGS', 'UNION', 'WITH', 'OVER',
    'TIMESTAMP', 'INTERVAL', 'a', 'events', 'count', '"q"', '`b`', "'s'", "'un", '"un', '1', '1.5', '.5', '1e', '12ab', '1e400',
    '=', '<>', '!=', '<=', '>=', '||', '+', '-', '*', '/', '%', '(', ')', ',', '.', ';', '#', '$', '?', '@', '[', ']', '{', '}',
    '\\', '^', '~', ':', '--c\n', '/*c*/', '/*', 'é', '😀', '\u2028', '\t', '\n', '\r\n', '\f', '\v', '\u00a0',
  ];
  const n = 1 + Math.floor(rand() * 14);
  const out: string[] = [];
  if (rand() < 0.7) out.push('SELECT');
  for (let i = 0; i < n; i++) out.push(vocabulary[Math.floor(rand() * vocabulary.length)]!);
  return out.join(rand() < 0.8 ? ' ' : '');
}

/** Every case of POST /parse/sql. */
export function parseSqlCases(): ContractCase[] {
  const cases: ContractCase[] = [];
  for (const [name, sql] of HAND_SQL) cases.push(sqlCase(name, sql));
  cases.push(sqlCase('the issue’s query, as query', 'SELEC nope FROM', 'query'));
  for (const c of CORPUS) if (c.input.sql !== undefined) cases.push(sqlCase(`corpus: ${c.name}`, c.input.sql));
  for (const h of HOSTILE_SQL) cases.push(sqlCase(`hostile: ${h.why}`, h.sql));
  HOSTILE_STRINGS.forEach((s, i) => {
    cases.push(sqlCase(`hostile string ${i} as a literal`, `SELECT ${quote(s)} AS v FROM t WHERE x = ${quote(s)}`));
    cases.push(sqlCase(`hostile string ${i} as the query`, s));
  });
  const rand = prng(18);
  for (let i = 0; i < 300; i++) cases.push(sqlCase(`generated query ${i}`, generatedQuery(rand)));
  for (let i = 0; i < 300; i++) cases.push(sqlCase(`token soup ${i}`, tokenSoup(rand)));
  cases.push(...BODY_CASES);
  return cases;
}
