// The fast schema check agrees with zod: on every AST the parser produces for
// the query corpora (all fit) and on thousands of mutations of them (a field
// removed, added, retyped, a tag or a number changed), it says "fits" exactly
// when zod's safeParse succeeds; schemas it does not understand go to zod.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { compileCheck } from '../../src/platform/schema-check.js';
import { parseSql } from '../../src/query/sql-parser.js';
import { parseSqlResponse } from '../../src/services/query-interpreter/parse-sql-response.js';
import { HOSTILE_SQL } from '../helpers/hostile-sql.js';
import { CORPUS } from '../helpers/query-corpus.js';
import { prng } from '../helpers/seeded-random.js';

function answers(): unknown[] {
  const out: unknown[] = [];
  const sqls = [...CORPUS.flatMap((c) => (c.input.sql ? [c.input.sql] : [])), ...HOSTILE_SQL.map((h) => h.sql)];
  sqls.push("SELECT CASE WHEN a > -1.5 THEN 'x' ELSE NULL END, e.b, count(DISTINCT c) FROM t e LEFT JOIN u ON e.a = u.a WHERE d NOT BETWEEN 1 AND 2 AND f ILIKE 'x%' AND g IS NOT NULL AND h NOT IN (1, 2) ORDER BY 1 DESC LIMIT 3 OFFSET 4");
  for (const sql of sqls) {
    try {
      out.push({ ast: JSON.parse(JSON.stringify(parseSql(sql))) });
    } catch {
      // refused queries have no AST
    }
  }
  return out;
}

/** Every object and array inside a value, with a way to change it in place. */
function containers(v: unknown, acc: Array<Record<string, unknown> | unknown[]> = []): Array<Record<string, unknown> | unknown[]> {
  if (v && typeof v === 'object') {
    acc.push(v as Record<string, unknown>);
    for (const x of Object.values(v)) containers(x, acc);
  }
  return acc;
}

const REPLACEMENTS: unknown[] = [null, 1, -1, 1.5, 'x', true, [], {}, undefined, 'bogus', 2 ** 60];

function mutate(value: unknown, rand: () => number): unknown {
  const copy = structuredClone(value);
  const all = containers(copy);
  const target = all[Math.floor(rand() * all.length)]!;
  const keys = Object.keys(target);
  const r = rand();
  if (Array.isArray(target)) {
    if (r < 0.3 || target.length === 0) target.push(REPLACEMENTS[Math.floor(rand() * REPLACEMENTS.length)]);
    else target[Math.floor(rand() * target.length)] = REPLACEMENTS[Math.floor(rand() * REPLACEMENTS.length)];
  } else if (r < 0.25 && keys.length) delete target[keys[Math.floor(rand() * keys.length)]!];
  else if (r < 0.35) target[rand() < 0.5 ? 'extra' : 'kind'] = 'literal';
  else if (keys.length) target[keys[Math.floor(rand() * keys.length)]!] = REPLACEMENTS[Math.floor(rand() * REPLACEMENTS.length)];
  return copy;
}

test('the /parse/sql answer check agrees with zod on every corpus AST and on mutations of them', () => {
  const check = compileCheck(parseSqlResponse);
  const valid = answers();
  assert.ok(valid.length > 50, `${valid.length} ASTs`);
  for (const v of valid) {
    assert.equal(parseSqlResponse.safeParse(v).success, true);
    assert.equal(check(v), undefined, JSON.stringify(v).slice(0, 300));
  }
  const rand = prng(7);
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const m = mutate(valid[i % valid.length], rand);
    const zodSays = parseSqlResponse.safeParse(m).success;
    const ours = check(m);
    assert.equal(ours === undefined, zodSays, `disagree on ${JSON.stringify(m).slice(0, 400)}: zod ${zodSays}, check ${ours}`);
    if (!zodSays) refused++;
  }
  assert.ok(refused > 3000, `mutations mostly break the shape: ${refused}`);
  // Not an object at all, and the wrapper itself.
  for (const v of [null, [], 'x', 1, {}, { ast: null }, { ast: {} }, { ...(valid[0] as object), servedBy: 'w' }]) {
    assert.equal(check(v) === undefined, parseSqlResponse.safeParse(v).success, JSON.stringify(v));
  }
});

test('schemas it does not know fall back to zod, so it never accepts what zod refuses', () => {
  const cases: Array<[z.ZodType, unknown[]]> = [
    [z.string().min(2), ['', 'ab', 1]],
    [z.object({ a: z.number() }).refine((o) => o.a > 1), [{ a: 0 }, { a: 2 }]],
    [z.object({ a: z.number() }).passthrough(), [{ a: 1, b: 2 }, { a: 'x' }]],
    [z.lazy(() => z.array(z.string()).max(1)), [['a'], ['a', 'b']]],
    [z.object({ a: z.number().int().min(0).max(3), b: z.enum(['x', 'y']).optional(), c: z.union([z.null(), z.literal(3)]) }), [{ a: 3, c: null }, { a: 4, c: 3 }, { a: 1.5, c: null }, { a: 1, b: 'z', c: null }, { a: 1, c: 2 }, { a: 1, c: null, d: 1 }]],
  ];
  for (const [schema, values] of cases) {
    const check = compileCheck(schema);
    for (const v of values) assert.equal(check(v) === undefined, schema.safeParse(v).success, `${JSON.stringify(v)}`);
  }
});
