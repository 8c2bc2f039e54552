import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TableEntry } from '../../src/catalog/catalog-store.js';
import { AppError } from '../../src/platform/errors.js';
import { bindQuery } from '../../src/query/binder.js';
import { parseSql } from '../../src/query/sql-parser.js';
import { HOSTILE_SQL } from '../helpers/hostile-sql.js';

const table = (name: string): TableEntry => ({
  tenant: 'acme',
  table: name,
  columns: [{ name: 'country', type: 'String' }],
  rowCount: 10,
  bytes: 0,
  partitions: 0,
  minTsMs: null,
  maxTsMs: null,
  createdAt: 0,
  updatedAt: 0,
});
const CATALOG = [table('events'), table('users')];

test(`the hostile corpus holds at least 50 queries (${HOSTILE_SQL.length})`, () => {
  assert.ok(HOSTILE_SQL.length >= 50);
});

for (const h of HOSTILE_SQL) {
  test(`refuses: ${h.why}`, () => {
    assert.throws(
      () => bindQuery(parseSql(h.sql), CATALOG),
      (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'invalid_query' && err.message.length > 0,
    );
  });
}
