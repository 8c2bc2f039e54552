// The query log's table on both engines (embedded chdb and Debian's
// clickhouse-server 18.16): rows of any text round-trip, a re-sent batch is
// read once, filters and cursor paging agree with a plain sort, and retention
// drops whole days older than QUERY_LOG_RETENTION_DAYS and nothing else. Then,
// against the real process on 18.16: ClickHouse killed under queries costs
// log entries (counted), never a blocked query, and what was buffered is
// written once it is back.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { QueryLog } from '../../src/query/query-log/query-log.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { QueryLogTable, utcDay, type QueryLogRow } from '../../src/storage/clickhouse/query-log-table.js';
import { restartClickHouseServer, startClickHouseServer, type RunningClickHouseServer } from '../helpers/clickhouse-server.js';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { send } from '../helpers/http-answer.js';
import { HOSTILE_STRINGS } from '../helpers/hostile-strings.js';

const logger = pino({ level: 'silent' });
const DAY = 86_400_000;
const NOW = Date.now();

function row(i: number, over: Partial<QueryLogRow> = {}): QueryLogRow {
  const end = over.end_ms ?? NOW - (i % 5) * 1000;
  return {
    date: utcDay(end),
    end_ms: end,
    start_ms: end - 10,
    query_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    tenant: i % 2 ? 'acme' : 'globex',
    principal: `user:u${i % 3}`,
    role: 'reader',
    state: i % 4 === 0 ? 'failed' : 'finished',
    kind: 'sql',
    via: 'operation-node',
    format: 'json',
    query: `SELECT ${i}`,
    query_bytes: 8,
    query_truncated: 0,
    normalized_query: 'SELECT ?',
    normalized_query_hash: '18446744073709551615',
    rows: i,
    bytes: i * 10,
    elapsed_ms: (i * 37) % 11 + 0.25,
    error_code: i % 4 === 0 ? 'invalid_query' : '',
    error: '',
    user_agent: 'ua',
    ...over,
  };
}

function tableContract(name: string, skip: string | false, makeEngine: () => ClickHouseEngine): void {
  describe(`query log table: ${name}`, { skip }, () => {
    let engine: ClickHouseEngine;
    let table: QueryLogTable;

    before(async () => {
      engine = makeEngine();
      await engine.open();
      table = new QueryLogTable({ engine, logger });
    });
    after(async () => engine?.close());

    it('stores rows of any text and reads them back; a re-sent batch is read once', async () => {
      const hostile = HOSTILE_STRINGS.map((s, i) => row(1000 + i, { query: s, principal: s.slice(0, 200), user_agent: s.slice(0, 256) }));
      await table.insert(hostile);
      await table.insert(hostile);
      const back = await table.select({ sort: 'newest', limit: 1000, normalizedHash: '18446744073709551615' });
      assert.equal(back.length, hostile.length, 'each once');
      const byId = new Map(back.map((r) => [r.query_id, r]));
      for (const h of hostile) {
        const b = byId.get(h.query_id);
        assert.ok(b, h.query_id);
        assert.equal(b.query, h.query);
        assert.equal(b.normalized_query_hash, '18446744073709551615');
        assert.equal(b.end_ms, h.end_ms);
        assert.equal(b.elapsed_ms, h.elapsed_ms);
      }
    });

    it('filters and pages exactly like a sort of the rows would', async () => {
      const rows = Array.from({ length: 60 }, (_, i) => row(i, { normalized_query_hash: '7' }));
      await table.insert(rows);
      for (const sort of ['newest', 'slowest'] as const) {
        const key = (r: QueryLogRow) => (sort === 'newest' ? r.end_ms : r.elapsed_ms);
        const want = rows
          .filter((r) => r.tenant === 'acme' && r.state === 'finished' && r.elapsed_ms >= 2)
          .sort((a, b) => key(b) - key(a) || (a.query_id < b.query_id ? 1 : -1))
          .map((r) => r.query_id);
        const got: string[] = [];
        let after: { key: number; id: string } | undefined;
        for (let page = 0; page < 100; page++) {
          const rs = await table.select({ sort, limit: 7, tenant: 'acme', states: ['finished'], minElapsedMs: 2, normalizedHash: '7', ...(after ? { after } : {}) });
          got.push(...rs.map((r) => r.query_id));
          if (rs.length < 7) break;
          const last = rs[rs.length - 1]!;
          after = { key: key(last), id: last.query_id };
        }
        assert.deepEqual(got, want, sort);
      }
      const window = await table.select({ sort: 'newest', limit: 100, normalizedHash: '7', fromMs: NOW - 2500, toMs: NOW - 500, principal: 'user:u1' });
      assert.deepEqual(
        window.map((r) => r.query_id).sort(),
        rows.filter((r) => r.end_ms >= NOW - 2500 && r.end_ms < NOW - 500 && r.principal === 'user:u1').map((r) => r.query_id).sort(),
      );
    });

    it('retention drops whole days older than the retention, and nothing newer', async () => {
      const old = [45, 31, 30, 29, 1].map((days, i) => row(5000 + i, { end_ms: NOW - days * DAY - 60_000, normalized_query_hash: '9' }));
      await table.insert(old);
      const registry = new Registry();
      const log = new QueryLog({
        settings: { retentionDays: 30, flushIntervalMs: 1000, bufferEntries: 100, retentionIntervalMs: 3_600_000 },
        table,
        ping: () => engine.ping(),
        ready: () => true,
        registry,
        logger,
      });
      await log.sweep(NOW);
      const left = await table.select({ sort: 'newest', limit: 100, normalizedHash: '9' });
      const cutoff = utcDay(NOW - 30 * DAY);
      assert.deepEqual(
        left.map((r) => r.date).sort(),
        old.map((r) => r.date).filter((d) => d >= cutoff).sort(),
        'days before the cutoff are gone, the cutoff day and later stay',
      );
      assert.ok(left.length >= 2 && left.length < old.length);
      const dropped = (await registry.getMetricsAsJSON()).find((m) => m.name === 'query_log_partitions_dropped_total')!.values[0]!.value;
      assert.ok(dropped >= 2, `days dropped: ${dropped}`);
      await log.sweep(NOW);
      assert.equal((await table.select({ sort: 'newest', limit: 100, normalizedHash: '9' })).length, left.length, 'a second pass changes nothing');
      await log.stop();
    });
  });
}

const chdbDir = await mkdtemp(path.join(os.tmpdir(), 'chdb-query-log-'));
after(() => rm(chdbDir, { recursive: true, force: true }));
tableContract('embedded (chdb)', false, () => createClickHouseEngine({ dataDir: chdbDir, database: 'qlog_db' }));

const started = await startClickHouseServer();
const serverSkip = 'skipped' in started ? started.skipped : false;
if (serverSkip) console.log(`# query log on clickhouse-server skipped: ${serverSkip}`);
tableContract('server (18.16)', serverSkip, () => createClickHouseEngine({ url: 'url' in started ? started.url : '', dataDir: chdbDir, database: 'qlog_db' }));

describe('query log while ClickHouse is down (server)', { skip: serverSkip }, () => {
  let server: RunningClickHouseServer;
  let plane: RunningPlane;
  let admin: Record<string, string>;
  let writer: Record<string, string>;

  before(async () => {
    server = started as RunningClickHouseServer;
    plane = await startPlane({
      env: { LOG_LEVEL: 'error', CLICKHOUSE_URL: server.url, CLICKHOUSE_DATABASE: 'qlog_plane', CLICKHOUSE_TIMEOUT_MS: '5000', QUERY_LOG_BUFFER_ENTRIES: '5', QUERY_LOG_FLUSH_INTERVAL_MS: '100', SERVICES: 'tenant-node,operation-node,monitoring' },
    });
    admin = await adminHeaders(plane);
    writer = (await tenantKeyHeaders(plane, 'down')).headers;
  });
  after(async () => {
    await plane?.cleanup();
    await server?.stop();
  });

  const metric = async (name: string, labels = '') => {
    const text = await (await fetch(plane.url('monitoring', '/metrics'), { headers: admin })).text();
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text);
    return Number(m?.[1] ?? NaN);
  };

  it('queries answer at once while ClickHouse is down; entries beyond the buffer are dropped and counted; the rest are written when it is back', async () => {
    assert.equal((await send(plane.url('tenant-node', '/data'), { method: 'POST', headers: writer, body: [{ data_id: 'a', payload: { n: 1 } }] })).status, 201);
    let first: string | undefined;
    for (let i = 0; i < 200 && !first; i++) {
      const r = await send(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: writer, body: { sql: 'SELECT count() AS n FROM events' } });
      if (r.status === 200 && (r.body.rows as Array<{ n: number }>)[0]?.n === 1) first = r.body.queryId as string;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(first, 'the record was applied');
    for (let i = 0; ; i++) {
      const h = await send(plane.url('operation-node', '/query/history?limit=500'), { headers: admin });
      if (h.status === 200 && (h.body.entries as Array<{ queryId: string }>).some((e) => e.queryId === first)) break;
      assert.ok(i < 100, `the query was not logged: ${h.text}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const droppedBefore = await metric('query_log_entries_dropped_total', '{reason="buffer_full"}');
    assert.equal(droppedBefore, 0);

    const killedAt = Date.now();
    await server.kill();
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const r = await send(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: writer, body: { sql: `SELECT count() AS n FROM events WHERE n > ${i}` } });
      times.push(performance.now() - t0);
      assert.ok(r.status >= 500, `ClickHouse is down: ${r.status} ${r.text}`);
    }
    assert.ok(Math.max(...times) < 5000, `no query waited for the log: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    assert.ok((await metric('query_log_entries_dropped_total', '{reason="buffer_full"}')) >= 7, 'what the buffer could not hold is counted');
    assert.equal(await metric('query_log_buffer_entries'), 5);

    server = await restartClickHouseServer(server);
    let failed: Array<{ state: string; errorCode: string }> = [];
    for (let i = 0; i < 300; i++) {
      const h = await send(plane.url('operation-node', `/query/history?state=failed&from=${killedAt}&limit=500`), { headers: admin });
      failed = h.status === 200 ? (h.body.entries as typeof failed) : [];
      if (failed.length >= 5) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(failed.length, 5, 'the buffered entries of the outage are written once ClickHouse is back');
    assert.ok(failed.every((e) => e.errorCode === 'storage_failure'), JSON.stringify(failed));
    assert.equal(await metric('query_log_buffer_entries'), 0);
  });
});
