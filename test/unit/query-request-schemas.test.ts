// `query` is another name for `sql` on every route that takes a query: the
// handlers see `sql`; giving both is a 400 naming `query`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZodError } from 'zod';
import { AppError } from '../../src/platform/errors.js';
import { toAppError } from '../../src/platform/http/error-handler.js';
import { executeBody, planBody, planQuery, queryBody, SQL_ALIAS_CONFLICT } from '../../src/query/request-schemas.js';
import { sqlBody, sqlTextOf } from '../../src/services/query-interpreter/schemas.js';

const SQL = 'SELECT 1 FROM events';

test('query becomes sql on the bodies of execute, plan, validate, transform and optimize', () => {
  assert.deepEqual(queryBody.parse({ query: SQL }), { sql: SQL });
  assert.deepEqual(executeBody.parse({ query: SQL, format: 'ndjson' }), { sql: SQL, format: 'ndjson' });
  assert.deepEqual(planBody.parse({ query: SQL, analyze: true }), { sql: SQL, analyze: true });
  assert.deepEqual(planQuery.parse({ query: SQL, analyze: '1' }), { sql: SQL, analyze: true });
  // sql alone is unchanged, dsl untouched.
  assert.deepEqual(queryBody.parse({ sql: SQL }), { sql: SQL });
  assert.deepEqual(queryBody.parse({ dsl: { table: 'events' } }), { dsl: { table: 'events' } });
});

test('both sql and query: a 400 naming query; other mistakes keep their own messages', () => {
  for (const schema of [queryBody, executeBody, planBody, planQuery]) {
    const r = schema.safeParse({ sql: SQL, query: SQL });
    assert.equal(r.success, false);
    const err = toAppError(r.error, 1024);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'validation_failed');
    assert.equal(err.message, `query: ${SQL_ALIAS_CONFLICT}`);
  }
  const wrongType = queryBody.safeParse({ query: 42 });
  assert.equal(wrongType.success, false);
  assert.match(toAppError(wrongType.error, 1024).message, /^query: Invalid input: expected string/);
  assert.throws(() => queryBody.parse({ query: SQL, nope: 1 }), ZodError);
});

test('POST /parse/sql takes sql or query, exactly one', () => {
  assert.equal(sqlTextOf(sqlBody.parse({ sql: SQL })), SQL);
  assert.equal(sqlTextOf(sqlBody.parse({ query: SQL })), SQL);
  const both = (() => {
    try {
      sqlTextOf(sqlBody.parse({ sql: SQL, query: SQL }));
    } catch (err) {
      return err;
    }
  })();
  assert.ok(both instanceof AppError);
  assert.equal(both.status, 400);
  assert.equal(both.message, `query: ${SQL_ALIAS_CONFLICT}`);
  assert.throws(() => sqlTextOf(sqlBody.parse({})), (e: unknown) => e instanceof AppError && e.status === 400 && e.message.startsWith('sql: required'));
});
