// The ingest path against the real process: validation writes nothing, limits
// answer 429, idempotency keys replay, reads see acknowledged rows at once, and
// a SIGKILL after acknowledgement loses nothing on restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

async function post(plane: RunningPlane, tenant: string, body: unknown, extra: Record<string, string> = {}, path = '/data') {
  const res = await fetch(plane.url('tenant-node', path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenant-id': tenant, ...(await adminHeaders(plane)), ...extra },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

async function get(plane: RunningPlane, service: string, tenant: string, path: string) {
  const res = await fetch(plane.url(service, path), { headers: { 'x-tenant-id': tenant, ...(await adminHeaders(plane)) } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function walLastLsn(plane: RunningPlane, tenant: string): Promise<number> {
  return (await get(plane, 'metadata-catalog', tenant, '/metadata/stats')).json.walLastLsn as number;
}

describe('ingest validation and limits', () => {
  let plane: RunningPlane;
  before(async () => {
    plane = await startPlane({ env: { INGEST_ROWS_PER_SECOND: '50', INGEST_BURST_ROWS: '100', BODY_LIMIT_BYTES: '100000' } });
  });
  after(async () => plane?.cleanup());

  test('bad tenant ids are 400 and write nothing', async () => {
    const before = await walLastLsn(plane, 'acme');
    for (const tenant of ['../x', 'A B', 'x'.repeat(64), 'café', '-lead', 'UPPER']) {
      const r = await post(plane, tenant, { data_id: 'a', payload: {} });
      assert.equal(r.status, 400, tenant);
      assert.equal((r.json.error as Record<string, unknown>).code, 'invalid_tenant_id');
    }
    const empty = await fetch(plane.url('tenant-node', '/data'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await adminHeaders(plane)) },
      body: '{"data_id":"a","payload":{}}',
    });
    assert.ok(empty.status === 400 || empty.status === 403, `missing tenant → ${empty.status}`);
    assert.equal(await walLastLsn(plane, 'acme'), before, 'WAL untouched');
  });

  test('one invalid record rejects the request with index and field; nothing is written', async () => {
    const before = await walLastLsn(plane, 'acme');
    const r = await post(plane, 'acme', [{ data_id: 'v1', payload: { n: 1 } }, { data_id: 'v2', payload: { n: 2 } }, { data_id: 'v3', payload: 'x' }]);
    assert.equal(r.status, 400);
    const err = r.json.error as { code: string; message: string; details: { index: number; field: string } };
    assert.equal(err.code, 'validation_failed');
    assert.deepEqual([err.details.index, err.details.field], [2, 'payload']);
    assert.equal(await walLastLsn(plane, 'acme'), before);
    const read = await get(plane, 'tenant-node', 'acme', '/data?data_id=v1');
    assert.deepEqual(read.json.records, []);
  });

  test('a field whose type conflicts with the table schema is rejected with its name', async () => {
    assert.equal((await post(plane, 'acme', { data_id: 's1', payload: { color: 'red' } }, {}, '/data?table=typed')).status, 201);
    const r = await post(plane, 'acme', [{ data_id: 's2', payload: { color: 'blue' } }, { data_id: 's3', payload: { color: 7 } }], {}, '/data?table=typed');
    assert.equal(r.status, 400);
    assert.match((r.json.error as { message: string }).message, /record 1: payload\.color must be String/);
  });

  test('over the tenant burst → 429 with Retry-After, nothing written; other tenants unaffected', async () => {
    const rows = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ data_id: `${p}-${i}`, payload: { i } }));
    assert.equal((await post(plane, 'limited', rows(90, 'first'))).status, 201);
    const before = await walLastLsn(plane, 'limited');
    const over = await post(plane, 'limited', rows(50, 'second'));
    assert.equal(over.status, 429);
    assert.equal((over.json.error as { code: string }).code, 'rate_limited');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.equal(await walLastLsn(plane, 'limited'), before, 'rejected request wrote nothing');
    const read = await get(plane, 'tenant-node', 'limited', '/data?data_id=second-0');
    assert.deepEqual(read.json.records, []);
    assert.equal((await post(plane, 'other-tenant', rows(50, 'x'))).status, 201, 'buckets are per tenant');
    const tooBig = await post(plane, 'big', rows(101, 'y'));
    assert.equal(tooBig.status, 400, 'a request larger than the burst can never pass: 400, not 429');
  });

  test('Idempotency-Key replays the first answer; the same data_id twice is stored once', async () => {
    const first = await post(plane, 'idem', { data_id: 'k1', payload: { v: 1 } }, { 'idempotency-key': 'req-123' });
    assert.equal(first.status, 201);
    const again = await post(plane, 'idem', { data_id: 'k1', payload: { v: 1 } }, { 'idempotency-key': 'req-123' });
    assert.equal(again.status, 200);
    assert.equal(again.json.lsn, first.json.lsn);
    assert.equal(again.json.replayed, true);
    const retry = await post(plane, 'idem', { data_id: 'k1', payload: { v: 2 } });
    assert.equal(retry.status, 201);
    const read = await get(plane, 'tenant-node', 'idem', '/data?data_id=k1');
    const recs = read.json.records as Array<{ payload: { v: number } }>;
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.payload.v, 1, 'the first acknowledged version wins');
  });

  test('acknowledged rows are readable at once and reach both sinks', async () => {
    const rows = Array.from({ length: 80 }, (_, i) => ({ data_id: `ryw-${i}`, payload: { i }, timestamp: Date.parse('2026-01-02T03:04:05Z') + i }));
    assert.equal((await post(plane, 'ryw', rows)).status, 201);
    const read = await get(plane, 'tenant-node', 'ryw', '/data?limit=1000');
    assert.equal((read.json.records as unknown[]).length, 80);
    for (let i = 0; i < 100; i++) {
      const t = await get(plane, 'metadata-catalog', 'ryw', '/metadata/tables');
      if ((t.json.tables as Array<{ rowCount: number }>)[0]?.rowCount === 80) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const parts = await fetch(plane.url('metadata-catalog', '/metadata/partitions'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant-id': 'ryw', ...(await adminHeaders(plane)) },
      body: '{}',
    });
    const body = (await parts.json()) as { partitions: Array<{ rows: number; date: string; minTs: string; maxTs: string }> };
    assert.equal(body.partitions.reduce((s, p) => s + p.rows, 0), 80);
    assert.equal(body.partitions[0]!.date, '2026-01-02');
    assert.equal(body.partitions[0]!.minTs, '2026-01-02T03:04:05.000Z');
    assert.equal(body.partitions[0]!.maxTs, new Date(Date.parse('2026-01-02T03:04:05Z') + 79).toISOString());
  });
});

describe('streaming reads', () => {
  test('NDJSON streams every row once, in order, across applied and pending rows', async () => {
    const plane = await startPlane({ env: { SERVICES: 'auth-gateway,tenant-node', INGEST_BURST_ROWS: '1000000', INGEST_ROWS_PER_SECOND: '1000000' } });
    try {
      for (let b = 0; b < 10; b++) {
        const rows = Array.from({ length: 2000 }, (_, i) => ({ data_id: `s-${b}-${i}`, payload: { b, i } }));
        assert.equal((await post(plane, 'stream', rows)).status, 201);
      }
      const res = await fetch(plane.url('tenant-node', '/data?format=ndjson&limit=100000'), { headers: { 'x-tenant-id': 'stream', ...(await adminHeaders(plane)) } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
      const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { data_id: string; lsn: number });
      assert.equal(lines.length, 20_000);
      assert.equal(new Set(lines.map((l) => l.data_id)).size, 20_000);
      for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.lsn >= lines[i - 1]!.lsn, 'ordered by lsn');
      const limited = await fetch(plane.url('tenant-node', '/data?format=ndjson&limit=7'), { headers: { 'x-tenant-id': 'stream', ...(await adminHeaders(plane)) } });
      assert.equal((await limited.text()).trim().split('\n').length, 7);
    } finally {
      await plane.cleanup();
    }
  });
});

describe('backlog', () => {
  test('a backlog of overlapping requests stores every id once, the first acknowledged version winning; the acks count the rest', async () => {
    const plane = await startPlane({ env: { SERVICES: 'auth-gateway,tenant-node,metadata-catalog,monitoring', APPLIER_BATCH_RECORDS: '100', INGEST_BURST_ROWS: '1000000', INGEST_ROWS_PER_SECOND: '1000000' } });
    try {
      // Request k carries ids 50k .. 50k+99: each repeats half of the one before, with its own payload.
      const requests = 60;
      const rowsOf = (k: number) => Array.from({ length: 100 }, (_, i) => ({ data_id: `b-${50 * k + i}`, payload: { k } }));
      const lsnOf: number[] = [];
      let duplicates = 0;
      for (let k = 0; k < requests; k += 6) {
        await Promise.all(
          Array.from({ length: 6 }, async (_, j) => {
            const r = await post(plane, 'backlog', rowsOf(k + j));
            assert.equal(r.status, 201);
            lsnOf[k + j] = r.json.lsn as number;
            duplicates += r.json.duplicates as number;
          }),
        );
      }
      const distinct = 50 * (requests - 1) + 100;
      const winner = (id: number) => [Math.floor(id / 50) - 1, Math.floor(id / 50)].filter((k) => k >= 0 && k < requests).sort((a, b) => lsnOf[a]! - lsnOf[b]!)[0];

      let tables: Array<{ rowCount: number }> = [];
      for (let i = 0; i < 300; i++) {
        tables = (await get(plane, 'metadata-catalog', 'backlog', '/metadata/tables')).json.tables as Array<{ rowCount: number }>;
        if (tables[0]?.rowCount === distinct) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(tables[0]?.rowCount, distinct);
      // Concurrent requests claim a new id for one of them only: the counts are exact.
      assert.equal(duplicates, 100 * requests - distinct);
      // A last batch may hold nothing but duplicates: wait until every entry is applied.
      let metrics = '';
      for (let i = 0; i < 300; i++) {
        metrics = await (await fetch(plane.url('monitoring', '/metrics'), { headers: await adminHeaders(plane) })).text();
        if (/^applier_lag_wal_records 0$/m.test(metrics)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(Number(/^ingest_duplicate_rows_total (\d+)/m.exec(metrics)?.[1]), 100 * requests - distinct);
      // Those rows were written nowhere: the applier dropped each one it was told to check.
      assert.equal(Number(/^applier_duplicate_rows_total (\d+)/m.exec(metrics)?.[1]), 100 * requests - distinct);

      // ClickHouse (the applied rows are evicted from the read-your-writes buffer by now) ...
      const read = await get(plane, 'tenant-node', 'backlog', '/data?limit=10000');
      const records = read.json.records as Array<{ data_id: string; payload: { k: number } }>;
      assert.equal(records.length, distinct);
      assert.equal(new Set(records.map((r) => r.data_id)).size, distinct);
      for (const r of records) assert.equal(r.payload.k, winner(Number(r.data_id.slice(2))), r.data_id);
      // ... and Parquet.
      const parts = await fetch(plane.url('metadata-catalog', '/metadata/partitions'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-id': 'backlog', ...(await adminHeaders(plane)) },
        body: '{}',
      });
      const { partitions } = (await parts.json()) as { partitions: Array<{ rows: number }> };
      assert.equal(partitions.reduce((n, p) => n + p.rows, 0), distinct);
    } finally {
      await plane.stop('SIGTERM');
      await plane.cleanup();
    }
  });
});

describe('backpressure', () => {
  test('with the sinks down, ingest stays durable up to the pending cap, then answers 503 with Retry-After', async () => {
    const plane = await startPlane({
      env: { SERVICES: 'auth-gateway,tenant-node', CLICKHOUSE_URL: 'http://127.0.0.1:9', CLICKHOUSE_TIMEOUT_MS: '300', INGEST_MAX_PENDING_ROWS: '5' },
      waitForReady: false,
    });
    try {
      // Only the gateway becomes ready: the tenant node waits for a ClickHouse that never answers.
      await plane.waitReady(10_000, ['auth-gateway']);
      const rows = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ data_id: `${p}-${i}`, payload: {} }));
      let first: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < 100; i++) {
        first = await post(plane, 'bp', rows(5, 'a'));
        if (first.status !== 503 || (first.json.error as { code: string }).code !== 'not_ready') break;
        await new Promise((res) => setTimeout(res, 50)); // WAL still replaying
      }
      assert.equal(first!.status, 201);
      const over = await post(plane, 'bp', rows(1, 'b'));
      assert.equal(over.status, 503);
      assert.equal((over.json.error as { code: string }).code, 'ingest_backpressure');
      assert.match((over.json.error as { message: string }).message, /waiting for the sinks/);
      assert.equal(over.headers.get('retry-after'), '5');
    } finally {
      await plane.cleanup();
    }
  });
});

describe('retention', () => {
  test('a sweep drops whole days before the cutoff from both sinks and the catalog', async () => {
    const plane = await startPlane({ env: { SERVICES: 'auth-gateway,tenant-node,metadata-catalog' } });
    try {
      const day = (d: string, i: number) => ({ data_id: `${d}-${i}`, payload: { i }, timestamp: `${d}T12:00:0${i}Z` });
      const rows = ['2026-03-01', '2026-03-02', '2026-03-03'].flatMap((d) => [day(d, 0), day(d, 1), day(d, 2)]);
      assert.equal((await post(plane, 'ttl', rows)).status, 201);
      for (let i = 0; i < 100; i++) {
        const s = (await get(plane, 'metadata-catalog', 'ttl', '/metadata/stats')).json;
        if (s.rows === 9) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const sweep = await post(plane, 'ttl', { before: '2026-03-02T08:00:00Z' }, {}, '/data/retention/sweep');
      assert.equal(sweep.status, 200, JSON.stringify(sweep.json));
      assert.equal(sweep.json.rowsDeleted, 3);
      assert.equal(sweep.json.partitionsDropped, 1);
      const left = await get(plane, 'tenant-node', 'ttl', '/data?limit=100');
      assert.deepEqual((left.json.records as Array<{ data_id: string }>).map((r) => r.data_id).sort(), rows.slice(3).map((r) => r.data_id).sort());
      const stats = (await get(plane, 'metadata-catalog', 'ttl', '/metadata/stats')).json;
      assert.equal(stats.rows, 6);
      const tables = (await get(plane, 'metadata-catalog', 'ttl', '/metadata/tables')).json.tables as Array<{ minTs: number }>;
      assert.equal(tables[0]!.minTs, Date.parse('2026-03-02T12:00:00Z'));
      const bad = await post(plane, 'ttl', { before: 'not a time' }, {}, '/data/retention/sweep');
      assert.equal(bad.status, 400);
    } finally {
      await plane.cleanup();
    }
  });
});

describe('tenant retention', () => {
  test('a tenant with retentionDays loses older days on schedule; recent data stays', async () => {
    const plane = await startPlane({ env: { SERVICES: 'auth-gateway,tenant-node,metadata-catalog', RETENTION_INTERVAL_MS: '300' } });
    try {
      const admin = { ...(await adminHeaders(plane)), 'content-type': 'application/json' };
      const created = await fetch(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: admin, body: JSON.stringify({ id: 'ttl-auto', retentionDays: 30 }) });
      assert.equal(created.status, 201);
      assert.equal(((await created.json()) as { retentionDays: number }).retentionDays, 30);
      const old = Array.from({ length: 5 }, (_, i) => ({ data_id: `old-${i}`, payload: { i }, timestamp: '2020-01-01T00:00:00Z' }));
      const recent = Array.from({ length: 5 }, (_, i) => ({ data_id: `new-${i}`, payload: { i } }));
      assert.equal((await post(plane, 'ttl-auto', [...old, ...recent])).status, 201);
      let ids: string[] = [];
      for (let i = 0; i < 100; i++) {
        const stats = (await get(plane, 'metadata-catalog', 'ttl-auto', '/metadata/stats')).json;
        ids = ((await get(plane, 'tenant-node', 'ttl-auto', '/data?limit=100')).json.records as Array<{ data_id: string }>).map((r) => r.data_id);
        if (stats.rows === 5 && ids.length === 5) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(ids.sort(), recent.map((r) => r.data_id).sort());
      const cleared = await fetch(plane.url('auth-gateway', '/admin/tenants/ttl-auto'), { method: 'PATCH', headers: admin, body: JSON.stringify({ retentionDays: null }) });
      assert.equal(cleared.status, 200);
      assert.equal(((await cleared.json()) as { retentionDays?: number }).retentionDays, undefined);
      const bad = await fetch(plane.url('auth-gateway', '/admin/tenants/ttl-auto'), { method: 'PATCH', headers: admin, body: JSON.stringify({ retentionDays: 0 }) });
      assert.equal(bad.status, 400);
    } finally {
      await plane.cleanup();
    }
  });
});

describe('restart', () => {
  test('rows acknowledged before SIGKILL are there after restart, once', async () => {
    const dataDir = makeTempDir('ingest-restart');
    try {
      let plane = await startPlane({ dataDir, env: { SERVICES: 'auth-gateway,tenant-node,metadata-catalog' } });
      const rows = Array.from({ length: 500 }, (_, i) => ({ data_id: `r-${i}`, payload: { i } }));
      assert.equal((await post(plane, 'restart', rows)).status, 201);
      plane.child.kill('SIGKILL');
      await plane.exited;
      plane = await startPlane({ dataDir, env: { SERVICES: 'auth-gateway,tenant-node,metadata-catalog' } });
      try {
        assert.equal((await post(plane, 'restart', rows.slice(0, 10))).status, 201, 'a client retry after the crash');
        const read = await get(plane, 'tenant-node', 'restart', '/data?limit=1000');
        assert.equal((read.json.records as unknown[]).length, 500);
        let stats: Record<string, unknown> = {};
        for (let i = 0; i < 100; i++) {
          stats = (await get(plane, 'metadata-catalog', 'restart', '/metadata/stats')).json;
          if (stats.applierCheckpointLsn === stats.walLastLsn) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(stats.rows, 500, 'applied exactly once');
      } finally {
        await plane.cleanup();
      }
    } finally {
      removeTempDir(dataDir);
    }
  });
});
