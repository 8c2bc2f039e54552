// The query log's edges that need no engine: the history filters (one schema
// for GET /query/history and the dashboard), the paging cursor, what each
// viewer is shown, and the registry telling its listeners of every query
// that ends (and of those refused before they ran).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError, Errors } from '../../src/platform/errors.js';
import { decodeCursor, encodeCursor, entryOf, historyQuery } from '../../src/query/query-log/history-query.js';
import { rowOf } from '../../src/query/query-log/query-log.js';
import { QueryRegistry, type EndedQuery } from '../../src/query/query-registry.js';
import { statementOf } from '../../src/query/query-statement.js';

test('history filters: defaults, lists of states, instants; bad values are refused with the field named', () => {
  const d = historyQuery.parse({});
  assert.deepEqual(d, { sort: 'newest', limit: 50 });
  const q = historyQuery.parse({ state: 'cancelled, timeout,cancelled', from: '2026-01-01T00:00:00Z', to: '1767312000000', minElapsedMs: '12.5', sort: 'slowest', limit: '500', tenant: 'acme', principal: 'user:alice' });
  assert.deepEqual(q.state, ['cancelled', 'timeout']);
  assert.equal(q.from, Date.parse('2026-01-01T00:00:00Z'));
  assert.equal(q.to, 1767312000000);
  assert.equal(q.minElapsedMs, 12.5);
  const bad: Array<[Record<string, string>, string]> = [
    [{ state: 'running' }, 'state'],
    [{ limit: '501' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ minElapsedMs: 'NaN' }, 'minElapsedMs'],
    [{ minElapsedMs: '1e12' }, 'minElapsedMs'],
    [{ from: '-5' }, 'from'],
    [{ from: 'tomorrow' }, 'from'],
    [{ from: '2000', to: '1000' }, 'from'],
    [{ tenant: '../etc' }, 'tenant'],
    [{ hash: '-1' }, 'hash'],
    [{ cursor: 'x'.repeat(600) }, 'cursor'],
    [{ extra: '1' }, ''],
  ];
  for (const [input, field] of bad) {
    const r = historyQuery.safeParse(input);
    assert.equal(r.success, false, JSON.stringify(input));
    if (field) assert.ok(r.error!.issues.some((i) => i.path[0] === field), `${JSON.stringify(input)} names ${field}: ${JSON.stringify(r.error!.issues)}`);
  }
});

test('a cursor reads back as written; anything else, or one of the other sort, is a 400', () => {
  const c = { sort: 'slowest' as const, key: 1234.56, id: '6d1f6a0e-8a4e-4d3b-9d7e-0b1c2d3e4f50' };
  assert.deepEqual(decodeCursor(encodeCursor(c), 'slowest'), c);
  const forged = [
    'not-base64!',
    Buffer.from('{"a":1}').toString('base64url'),
    Buffer.from(JSON.stringify(['newest', -1, 'x'])).toString('base64url'),
    Buffer.from(JSON.stringify(['newest', 1, 'x'.repeat(100)])).toString('base64url'),
    Buffer.from(JSON.stringify(['oldest', 1, 'x'])).toString('base64url'),
    Buffer.from(JSON.stringify(['newest', '1', 'x'])).toString('base64url'),
  ];
  for (const raw of forged) {
    assert.throws(() => decodeCursor(raw, 'newest'), (e: unknown) => e instanceof AppError && e.status === 400 && e.code === 'validation_failed', raw);
  }
  assert.throws(() => decodeCursor(encodeCursor(c), 'newest'), /cursor belongs to sort=slowest/);
});

function ended(over: Partial<EndedQuery['info']> = {}): EndedQuery {
  return {
    info: { id: 'q1', tenant: 'acme', state: 'failed', rows: 3, bytes: 120, startedAt: '2026-01-01T00:00:00.000Z', elapsedMs: 12.34, via: 'operation-node', format: 'json', owner: 'user:alice', role: 'reader', error: "unknown column 'secret'", errorCode: 'invalid_query', ...over },
    statement: statementOf({ sql: "SELECT secret FROM events WHERE x = 'hunter2'" })!,
    userAgent: 'curl/8',
    startedAtMs: Date.parse('2026-01-01T00:00:00.000Z'),
    endedAtMs: Date.parse('2026-01-01T00:00:00.012Z'),
  };
}

test('an ended query becomes one row; operators are shown neither its text nor its error message', () => {
  const row = rowOf(ended());
  assert.equal(row.date, '2026-01-01');
  assert.equal(row.principal, 'user:alice');
  assert.equal(row.normalized_query, 'SELECT secret FROM events WHERE x = ?');
  const admin = entryOf(row, { seesText: true });
  assert.equal(admin.query, "SELECT secret FROM events WHERE x = 'hunter2'");
  assert.equal(admin.error, "unknown column 'secret'");
  assert.deepEqual(admin.client, { via: 'operation-node', format: 'json', userAgent: 'curl/8' });
  const operator = entryOf(row, { seesText: false });
  assert.equal(operator.query, null);
  assert.equal(operator.error, null);
  assert.equal(operator.errorCode, 'invalid_query');
  assert.doesNotMatch(JSON.stringify(operator), /hunter2/);
  // Error messages are bounded too.
  assert.ok(Buffer.byteLength(rowOf(ended({ error: 'x'.repeat(10_000) })).error) <= 1024);
});

test('the registry tells its listeners of every query once when it ends, and of refused ones; a throwing listener harms nothing', async () => {
  const registry = new QueryRegistry({ maxConcurrentPerTenant: 1 });
  const heard: EndedQuery[] = [];
  registry.onEnded(() => {
    throw new Error('a broken listener');
  });
  registry.onEnded((q) => heard.push(q));
  const statement = statementOf({ sql: 'SELECT 1 FROM t' })!;
  const h = registry.start('acme', { timeoutMs: 10_000, via: 'operation-node', format: 'json', owner: 'user:a', role: 'writer', userAgent: 'ua', statement });
  assert.equal(registry.statementOf(h.id)?.text, 'SELECT 1 FROM t', 'a running query shows what it runs');
  // Over the tenant's concurrency limit: refused, and heard of as failed.
  assert.throws(() => registry.start('acme', { timeoutMs: 10_000, via: 'operation-node', format: 'json', statement }), (e: unknown) => e instanceof AppError && e.status === 429);
  assert.equal(heard.length, 1);
  assert.equal(heard[0]!.info.errorCode, 'rate_limited');
  assert.equal(heard[0]!.info.state, 'failed');
  h.addRows(2);
  h.addBytes(40);
  h.finish();
  h.finish();
  assert.equal(heard.length, 2, 'once');
  const done = heard[1]!;
  assert.equal(done.info.state, 'finished');
  assert.equal(done.info.rows, 2);
  assert.equal(done.info.bytes, 40);
  assert.equal(done.info.role, 'writer');
  assert.equal(done.userAgent, 'ua');
  assert.equal(done.statement?.text, 'SELECT 1 FROM t');
  assert.ok(done.endedAtMs >= done.startedAtMs);
  assert.equal(registry.statementOf(h.id), undefined, 'an ended query no longer holds its text');
  // Cancel and timeout reasons win over the engine's error, with their codes.
  const c = registry.start('acme', { timeoutMs: 10_000, via: 'v', format: 'json' });
  registry.cancel(c.id, 'acme');
  c.fail(new Error('engine aborted'));
  assert.equal(heard[2]!.info.state, 'cancelled');
  assert.equal(heard[2]!.info.errorCode, 'query_cancelled');
  assert.equal(registry.rejected('acme', { timeoutMs: 1, via: 'v', format: 'json' }, Errors.invalidQuery('bad')) instanceof AppError, true);
  assert.equal(heard[3]!.info.errorCode, 'invalid_query');
  assert.equal(registry.list().length, 2, 'refused queries are not registered');
});
