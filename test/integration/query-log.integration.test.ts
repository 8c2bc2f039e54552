// The durable query log against the real process (embedded engine): every
// kind of query is recorded when it ends (SQL and DSL on both execute routes,
// EXPLAIN ANALYZE, refused, cancelled, timed out) with who, what (text and
// normalized text with its hash), state, rows, bytes, time, error code and
// client; GET /query/history filters, sorts (newest, slowest) and pages;
// operators see only normalized texts and members only their own tenant; bad
// filters are a clear 400; a huge query text is cut with a marker; and the
// log is still there after a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorCode, send, type Answer } from '../helpers/http-answer.js';
import { adminHeaders, login, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';
import type { HistoryEntry } from '../../src/query/query-log/history-query.js';

const A = 'qlog-a';
const B = 'qlog-b';
const PASSWORD = 'query-log-password-7f3e';
const UA = 'query-log-test/1.0';
const SLOW = 'SELECT count() FROM events a JOIN events b ON a.country = b.country JOIN events c ON b.country = c.country JOIN events d ON c.country = d.country JOIN events e ON d.country = e.country';
const ENV = { LOG_LEVEL: 'warn', QUERY_LOG_FLUSH_INTERVAL_MS: '100', APPLIER_INTERVAL_MS: '20' };

type Entry = HistoryEntry;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('query log', () => {
  let plane: RunningPlane;
  let dataDir: string;
  let admin: Record<string, string>;
  let operator: Record<string, string>;
  let writerA: Record<string, string>;
  let writerB: Record<string, string>;
  let keyA: string;
  /** Query ids of the first test, by what they were. */
  const ids: Record<string, string> = {};

  const history = (headers: Record<string, string>, qs = '') => send(plane.url('operation-node', `/query/history${qs ? `?${qs}` : ''}`), { headers });
  const entries = (a: Answer) => a.body.entries as Entry[];
  /** Polls the history (as admin) until every id is there: entries are written in batches, off the request path. */
  const logged = async (want: string[], qs = `tenant=${A}&limit=500`): Promise<Map<string, Entry>> => {
    for (let i = 0; ; i++) {
      const r = await history(admin, qs);
      assert.equal(r.status, 200, r.text);
      const found = new Map(entries(r).map((e) => [e.queryId, e]));
      if (want.every((id) => found.has(id))) return found;
      assert.ok(i < 200, `not logged: ${want.filter((id) => !found.has(id)).join(', ')}`);
      await sleep(50);
    }
  };
  const execute = (headers: Record<string, string>, body: unknown, path = '/query/execute', service = 'operation-node', extra: Record<string, string> = {}) =>
    send(plane.url(service, path), { method: 'POST', headers: { ...headers, 'user-agent': UA, ...extra }, body });
  const runningId = async (tenant: string): Promise<string> => {
    for (let i = 0; i < 300; i++) {
      const list = await send(plane.url('operation-node', '/query/running'), { headers: { ...admin, 'x-tenant-id': tenant } });
      const q = (list.body.queries as Array<{ id: string }>)[0];
      if (q) return q.id;
      await sleep(20);
    }
    assert.fail('the slow query never showed up as running');
  };

  before(async () => {
    dataDir = makeTempDir('query-log');
    plane = await startPlane({ dataDir, env: ENV });
    admin = await adminHeaders(plane);
    const a = await tenantKeyHeaders(plane, A);
    writerA = a.headers;
    keyA = /^Bearer cpk_([0-9a-f]{16})_/.exec(a.headers.authorization!)![1]!;
    writerB = (await tenantKeyHeaders(plane, B)).headers;
    assert.equal((await send(plane.url('auth-gateway', '/admin/users'), { method: 'POST', headers: admin, body: { username: 'qlog-operator', password: PASSWORD, role: 'operator' } })).status, 201);
    operator = { authorization: `Bearer ${(await login(plane, 'qlog-operator', PASSWORD)).access_token}` };
    for (const headers of [writerA, writerB]) {
      const rows = Array.from({ length: 500 }, (_, i) => ({ data_id: `e${i}`, payload: { country: ['NL', 'DE', 'FR', 'BE', 'US'][i % 5], amount: i % 100 } }));
      assert.equal((await send(plane.url('tenant-node', '/data'), { method: 'POST', headers, body: rows })).status, 201);
    }
    for (const headers of [writerA, writerB]) {
      for (let i = 0; ; i++) {
        const r = await execute(headers, { sql: 'SELECT count() AS n FROM events' });
        if (r.status === 200 && (r.body.rows as Array<{ n: number }>)[0]?.n === 500) break;
        assert.ok(i < 200, `rows not applied: ${r.text}`);
        await sleep(50);
      }
    }
  });

  after(async () => {
    await plane?.cleanup();
    if (dataDir) removeTempDir(dataDir);
  });

  test('every kind of query is recorded when it ends: who, what, state, rows, bytes, time, error code, client', async () => {
    const sql = await execute(writerA, { sql: "SELECT country, count() AS n FROM events WHERE amount > 40 AND country IN ('NL', 'DE', 'FR') GROUP BY country" });
    assert.equal(sql.status, 200, sql.text);
    ids.sql = sql.body.queryId as string;
    // The same shape with other values: another query id, the same normalized hash.
    const same = await execute(writerA, { sql: "select country, count() as n from events where amount > 7 and country in ('BE') group by country -- another comment" });
    ids.same = same.body.queryId as string;
    const ndjson = await fetch(plane.url('operation-node', '/query/execute'), {
      method: 'POST',
      headers: { ...writerA, 'content-type': 'application/json', accept: 'application/x-ndjson', 'user-agent': UA },
      body: JSON.stringify({ sql: 'SELECT data_id, amount FROM events LIMIT 200' }),
    });
    assert.equal(ndjson.status, 200);
    ids.ndjson = ndjson.headers.get('x-query-id')!;
    const ndjsonBytes = (await ndjson.arrayBuffer()).byteLength;
    const dsl = await execute(writerA, { dsl: { table: 'events', filter: { column: 'country', op: 'eq', value: 'NL' }, limit: 10 } }, '/data/execute', 'tenant-node');
    assert.equal(dsl.status, 200, dsl.text);
    ids.dsl = dsl.body.queryId as string;
    const explained = await execute(writerA, { sql: 'SELECT country, count() AS n FROM events GROUP BY country', analyze: true }, '/query/plan');
    assert.equal(explained.status, 200, explained.text);
    const refused = await execute(writerA, { sql: 'SELECT nope FROM events' });
    assert.equal(refused.status, 400);

    const cancelled = execute(writerA, { sql: SLOW });
    ids.cancelled = await runningId(A);
    assert.equal((await send(plane.url('operation-node', `/query/${ids.cancelled}`), { method: 'DELETE', headers: writerA })).status, 200);
    assert.equal((await cancelled).status, 409);
    const timedOut = await execute(writerA, { sql: SLOW, timeoutMs: 200 });
    assert.equal(timedOut.status, 504);
    const timeoutId = (timedOut.body.error as { details?: { queryId?: string } } | undefined)?.details?.queryId;
    assert.ok(timeoutId, timedOut.text);
    ids.timeout = timeoutId;

    const log = await logged(Object.values(ids));
    const e = log.get(ids.sql)!;
    assert.equal(e.tenant, A);
    assert.equal(e.principal, `apiKey:${keyA}`);
    assert.equal(e.role, 'writer');
    assert.equal(e.state, 'finished');
    assert.equal(e.kind, 'sql');
    assert.equal(e.query, "SELECT country, count() AS n FROM events WHERE amount > 40 AND country IN ('NL', 'DE', 'FR') GROUP BY country");
    assert.equal(e.normalizedQuery, 'SELECT country, count() AS n FROM events WHERE amount > ? AND country IN (?..) GROUP BY country');
    assert.match(e.normalizedQueryHash, /^\d+$/);
    assert.equal(e.rows, 3);
    assert.ok(e.elapsedMs > 0 && e.elapsedMs < 30_000);
    assert.ok(Date.parse(e.endedAt) >= Date.parse(e.startedAt));
    assert.equal(e.errorCode, null);
    assert.deepEqual(e.client, { via: 'operation-node', format: 'json', userAgent: UA });
    assert.equal(e.queryTruncated, false);
    assert.equal(e.queryBytes, Buffer.byteLength(e.query!));
    assert.equal(log.get(ids.same)!.normalizedQueryHash, e.normalizedQueryHash, 'same shape, same hash (case, comments and values aside)');

    const nd = log.get(ids.ndjson)!;
    assert.equal(nd.client.format, 'ndjson');
    assert.equal(nd.rows, 200);
    assert.equal(nd.bytes, ndjsonBytes, 'bytes are what was sent');

    const d = log.get(ids.dsl)!;
    assert.equal(d.kind, 'dsl');
    assert.equal(d.client.via, 'tenant-node');
    assert.deepEqual(JSON.parse(d.query!), { table: 'events', filter: { column: 'country', op: 'eq', value: 'NL' }, limit: 10 });
    assert.equal(d.normalizedQuery, '{"filter":{"column":"country","op":"eq","value":"?"},"limit":"?","table":"events"}');

    const all = [...log.values()];
    const analyze = all.find((x) => x.client.via === 'explain-analyze');
    assert.ok(analyze, 'EXPLAIN ANALYZE is logged');
    assert.equal(analyze.state, 'finished');
    assert.equal(analyze.rows, 5);
    const bad = all.find((x) => x.query === 'SELECT nope FROM events');
    assert.ok(bad, 'a refused query is logged');
    assert.equal(bad.state, 'failed');
    assert.equal(bad.errorCode, 'invalid_query');
    assert.match(bad.error!, /nope/);
    assert.equal(log.get(ids.cancelled)!.state, 'cancelled');
    assert.equal(log.get(ids.cancelled)!.errorCode, 'query_cancelled');
    assert.equal(log.get(ids.timeout)!.state, 'timeout');
    assert.equal(log.get(ids.timeout)!.errorCode, 'query_timeout');
    assert.ok(log.get(ids.timeout)!.elapsedMs >= 200);

    const metrics = await (await fetch(plane.url('monitoring', '/metrics'), { headers: admin })).text();
    assert.match(metrics, /^query_log_entries_written_total \d+/m);
    assert.match(metrics, /^query_log_entries_dropped_total\{reason="buffer_full"\} 0$/m);
  });

  test('who sees what: operators the normalized text only, a tenant only its own queries', async () => {
    const asOperator = await history(operator, `tenant=${A}&limit=500`);
    assert.equal(asOperator.status, 200, asOperator.text);
    const op = entries(asOperator).find((e) => e.queryId === ids.sql)!;
    assert.equal(op.query, null, 'operators never see the text');
    assert.equal(op.error, null);
    assert.match(op.normalizedQuery, /amount > \?/);
    assert.ok(entries(asOperator).every((e) => e.query === null));
    // Without a tenant, admins and operators see every tenant's.
    const every = entries(await history(operator, 'limit=500'));
    assert.ok(every.some((e) => e.tenant === B) && every.some((e) => e.tenant === A));

    const asB = await history(writerB, 'limit=500');
    assert.equal(asB.status, 200, asB.text);
    assert.ok(entries(asB).length > 0);
    assert.ok(entries(asB).every((e) => e.tenant === B), 'B sees only its own');
    assert.ok(entries(asB).every((e) => e.query !== null), 'its own texts');
    assert.equal((await history(writerB, `tenant=${A}`)).status, 403);
    assert.equal((await history({ ...writerB, 'x-tenant-id': A })).status, 403);
    const asA = entries(await history(writerA, 'limit=500'));
    assert.ok(asA.some((e) => e.queryId === ids.sql) && asA.every((e) => e.tenant === A));
  });

  test('filters, slowest first and cursor paging', async () => {
    const states = entries(await history(admin, `tenant=${A}&state=cancelled,timeout`));
    assert.deepEqual(new Set(states.map((e) => e.state)), new Set(['cancelled', 'timeout']));
    const slowOnes = entries(await history(admin, `tenant=${A}&minElapsedMs=150`));
    assert.ok(slowOnes.some((e) => e.queryId === ids.timeout) && slowOnes.every((e) => e.elapsedMs >= 150), JSON.stringify(slowOnes));
    const byKey = entries(await history(admin, `principal=apiKey:${keyA}&limit=500`));
    assert.ok(byKey.length > 0 && byKey.every((e) => e.principal === `apiKey:${keyA}`));
    const byHash = entries(await history(admin, `hash=${(await logged([ids.sql!])).get(ids.sql!)!.normalizedQueryHash}`));
    assert.deepEqual(new Set(byHash.map((e) => e.queryId)), new Set([ids.sql, ids.same]));
    const future = entries(await history(admin, `from=${Date.now() + 60_000}`));
    assert.equal(future.length, 0);
    const window = entries(await history(admin, `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${Date.now() + 1000}&tenant=${A}&limit=500`));
    assert.ok(window.some((e) => e.queryId === ids.sql));

    const newest = entries(await history(admin, `tenant=${A}&limit=500`));
    for (let i = 1; i < newest.length; i++) assert.ok(Date.parse(newest[i - 1]!.endedAt) >= Date.parse(newest[i]!.endedAt), 'newest first');
    const slowest = entries(await history(admin, `tenant=${A}&sort=slowest&limit=500`));
    for (let i = 1; i < slowest.length; i++) assert.ok(slowest[i - 1]!.elapsedMs >= slowest[i]!.elapsedMs, 'slowest first');
    assert.equal(slowest.length, newest.length);

    for (const sort of ['newest', 'slowest']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Answer = await history(admin, `tenant=${A}&sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200, r.text);
        assert.ok(entries(r).length <= 3);
        seen.push(...entries(r).map((e) => e.queryId));
        cursor = r.body.nextCursor as string | null;
        pages++;
      } while (cursor && pages < 100);
      assert.deepEqual(seen, (sort === 'newest' ? newest : slowest).map((e) => e.queryId), `paging ${sort} returns every entry once, in order`);
    }
  });

  test('bad filters are a clear 400 that names the problem', async () => {
    const cursor = (await history(admin, `tenant=${A}&limit=1`)).body.nextCursor as string;
    assert.ok(cursor);
    const bad: Array<[string, RegExp]> = [
      ['state=running', /unknown state 'running'/],
      ['state=bogus,finished', /unknown state 'bogus'/],
      ['limit=0', /limit/],
      ['limit=100000', /limit/],
      ['minElapsedMs=-1', /minElapsedMs/],
      ['minElapsedMs=abc', /minElapsedMs/],
      ['from=yesterday', /from/],
      [`from=${Date.now()}&to=${Date.now() - 1000}`, /from must be before to/],
      ['cursor=%2E%2E%2Fx', /cursor/],
      [`cursor=${cursor}&sort=slowest`, /cursor belongs to sort=newest/],
      ['sort=fastest', /sort/],
      ['hash=12ab', /hash/],
      ['tenant=Bad!', /tenant/],
      ['nope=1', /nope|unrecognized/i],
      [`principal=${'x'.repeat(300)}`, /principal/],
    ];
    for (const [qs, message] of bad) {
      const r = await history(admin, qs);
      assert.equal(r.status, 400, `${qs}: ${r.text}`);
      assert.equal(errorCode(r), 'validation_failed', qs);
      assert.match(r.text, message, qs);
    }
  });

  test('a huge query text is stored cut, with a marker saying how long it was', async () => {
    const values = Array.from({ length: 8000 }, (_, i) => `value-${i}-${'x'.repeat(12)}`);
    const dsl = { table: 'events', filter: { column: 'country', op: 'in', value: values } };
    const r = await execute(writerA, { dsl });
    assert.equal(r.status, 200, r.text);
    const whole = Buffer.byteLength(JSON.stringify(dsl));
    assert.ok(whole > 64 * 1024);
    const e = (await logged([r.body.queryId as string])).get(r.body.queryId as string)!;
    assert.equal(e.queryTruncated, true);
    assert.equal(e.queryBytes, whole);
    assert.ok(Buffer.byteLength(e.query!) <= 64 * 1024);
    assert.match(e.query!, new RegExp(`… \\[truncated: ${whole} bytes in all\\]$`));
    assert.ok(e.query!.startsWith('{"table":"events"'));
    assert.equal(e.normalizedQuery, '{"filter":{"column":"country","op":"in","value":"?.."},"table":"events"}');
    // Multi-byte text is cut at a character boundary.
    const sql = `SELECT count() AS n FROM events WHERE country = '${'é'.repeat(33_000)}'`;
    const m = await execute(writerA, { sql });
    assert.equal(m.status, 200, m.text);
    const me = (await logged([m.body.queryId as string])).get(m.body.queryId as string)!;
    assert.equal(me.queryTruncated, true);
    assert.ok(!me.query!.includes('\uFFFD'));
    assert.equal(me.normalizedQuery, 'SELECT count() AS n FROM events WHERE country = ?');
  });

  test('the log survives a restart', async () => {
    const before = entries(await history(admin, `tenant=${A}&limit=500`)).map((e) => e.queryId);
    assert.ok(before.length > 5);
    assert.equal(await plane.stop('SIGTERM'), 0, plane.logs().slice(-2000));
    plane = await startPlane({ dataDir, env: ENV });
    admin = await adminHeaders(plane);
    const afterRestart = entries(await history(admin, `tenant=${A}&limit=500`)).map((e) => e.queryId);
    assert.deepEqual(afterRestart, before);
  });
});
