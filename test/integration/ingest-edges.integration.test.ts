// Edges of the ingest path against the real process: bodies that are not
// UTF-8 (or escape lone surrogates) are refused and write nothing, duplicate
// data_ids are counted in the acknowledgement, and the 503s a client is meant
// to retry are logged as warnings without a stack.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';

async function post(plane: RunningPlane, tenant: string, body: string | Buffer, contentType = 'application/json') {
  const res = await fetch(plane.url('tenant-node', '/data'), {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-tenant-id': tenant, ...(await adminHeaders(plane)) },
    body,
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

async function walLastLsn(plane: RunningPlane): Promise<number> {
  const res = await fetch(plane.url('metadata-catalog', '/metadata/stats'), { headers: { 'x-tenant-id': 'edges', ...(await adminHeaders(plane)) } });
  return ((await res.json()) as { walLastLsn: number }).walLastLsn;
}

async function records(plane: RunningPlane, tenant: string): Promise<Array<{ data_id: string; payload: Record<string, unknown> }>> {
  const res = await fetch(plane.url('tenant-node', '/data?limit=1000'), { headers: { 'x-tenant-id': tenant, ...(await adminHeaders(plane)) } });
  return ((await res.json()) as { records: Array<{ data_id: string; payload: Record<string, unknown> }> }).records;
}

const errorOf = (json: Record<string, unknown>) => json.error as { code: string; message: string; details?: Record<string, unknown> };

describe('ingest edges', () => {
  let plane: RunningPlane;
  before(async () => {
    plane = await startPlane({ env: { SERVICES: 'auth-gateway,tenant-node,metadata-catalog' } });
  });
  after(async () => plane?.cleanup());

  test('a body that is not valid UTF-8 is 400 invalid_encoding and writes nothing (JSON and NDJSON)', async () => {
    const before = await walLastLsn(plane);
    // "caf\xe9" is Latin-1: a decoder would have stored "caf\ufffd" under an id the client never sent.
    const latin1 = Buffer.concat([Buffer.from('{"data_id":"caf'), Buffer.from([0xe9]), Buffer.from('","payload":{}}')]);
    const overlong = Buffer.concat([Buffer.from('{"data_id":"a","payload":{"k":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]);
    const truncated = Buffer.concat([Buffer.from('{"data_id":"b","payload":{"k":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}}')]);
    const ndjson = Buffer.concat([Buffer.from('{"data_id":"n1","payload":{}}\n{"data_id":"n'), Buffer.from([0xff]), Buffer.from('","payload":{}}\n')]);
    for (const [body, type] of [
      [latin1, 'application/json'],
      [overlong, 'application/json'],
      [truncated, 'application/json'],
      [ndjson, 'application/x-ndjson'],
    ] as const) {
      const r = await post(plane, 'edges', body, type);
      assert.equal(r.status, 400, body.toString('latin1'));
      assert.equal(errorOf(r.json).code, 'invalid_encoding');
      assert.match(errorOf(r.json).message, /not valid UTF-8/);
    }
    assert.equal(await walLastLsn(plane), before, 'nothing reached the WAL');
    assert.deepEqual(await records(plane, 'edges'), []);
    // The same ids in valid UTF-8 are fine.
    const ok = await post(plane, 'edges', JSON.stringify([{ data_id: 'café', payload: { k: '€' } }]));
    assert.equal(ok.status, 201);
    assert.deepEqual((await records(plane, 'edges')).map((r) => [r.data_id, r.payload.k]), [['café', '€']]);
  });

  test('JSON escapes of lone surrogates are 400 invalid_encoding naming the field; escaped pairs are fine', async () => {
    const before = await walLastLsn(plane);
    const cases: Array<[string, string]> = [
      ['[{"data_id":"s1","payload":{}},{"data_id":"x\\ud800","payload":{}}]', 'data_id'],
      ['{"data_id":"s2","payload":{"deep":{"list":["ok","\\uDC00"]}}}', 'payload.deep.list[1]'],
      ['{"data_id":"s3","payload":{"\\udbff":1}}', 'payload (a key)'],
    ];
    for (const [body, field] of cases) {
      const r = await post(plane, 'surrogates', body);
      assert.equal(r.status, 400, body);
      assert.equal(errorOf(r.json).code, 'invalid_encoding');
      assert.equal(errorOf(r.json).details?.field, field);
    }
    const ndjson = await post(plane, 'surrogates', '{"data_id":"s4","payload":{"v":"\\ud83d"}}\n', 'application/x-ndjson');
    assert.equal(ndjson.status, 400);
    assert.equal(await walLastLsn(plane), before, 'nothing reached the WAL');
    const pair = await post(plane, 'surrogates', '{"data_id":"s5","payload":{"v":"\\ud83d\\ude00"}}');
    assert.equal(pair.status, 201);
    assert.deepEqual((await records(plane, 'surrogates')).map((r) => r.payload.v), ['😀']);
  });

  test('duplicates are counted in the acknowledgement: within the request, pending, and already applied', async () => {
    const rows = (ids: string[], v: number) => JSON.stringify(ids.map((id) => ({ data_id: id, payload: { v } })));
    const first = await post(plane, 'dups', rows(['a', 'b', 'a', 'c'], 1));
    assert.equal(first.status, 201);
    assert.deepEqual([first.json.accepted, first.json.duplicates], [4, 1]);
    const second = await post(plane, 'dups', rows(['b', 'd'], 2));
    assert.deepEqual([second.json.accepted, second.json.duplicates], [2, 1]);
    // Once applied, the ids are found in the applier's index rather than the pending buffer.
    for (let i = 0; i < 200; i++) {
      const res = await fetch(plane.url('metadata-catalog', '/metadata/tables'), { headers: { 'x-tenant-id': 'dups', ...(await adminHeaders(plane)) } });
      if (((await res.json()) as { tables: Array<{ rowCount: number }> }).tables[0]?.rowCount === 4) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const third = await post(plane, 'dups', rows(['a', 'c', 'e', 'e'], 3));
    assert.deepEqual([third.json.accepted, third.json.duplicates], [4, 3]);
    // Other tables and tenants have their own ids.
    const otherTable = await fetch(plane.url('tenant-node', '/data?table=other'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant-id': 'dups', ...(await adminHeaders(plane)) },
      body: rows(['a'], 4),
    });
    assert.equal(((await otherTable.json()) as { duplicates: number }).duplicates, 0);
    assert.equal((await post(plane, 'dups-other', rows(['a'], 5))).json.duplicates, 0);
    // Concurrent requests with the same new id: exactly one of them calls it new.
    const racing = await Promise.all(Array.from({ length: 8 }, () => post(plane, 'dups', rows(['race'], 6))));
    assert.equal(racing.reduce((n, r) => n + (r.json.duplicates as number), 0), 7);
    const stored = await records(plane, 'dups');
    assert.deepEqual(stored.map((r) => r.data_id).sort(), ['a', 'b', 'c', 'd', 'e', 'race']);
    assert.equal(stored.find((r) => r.data_id === 'a')?.payload.v, 1, 'the first acknowledged version wins');
  });
});

describe('expected 503s in the log', () => {
  test('not_ready and ingest_backpressure are warnings without a stack; the pending bound holds in bytes', async () => {
    // A ClickHouse that never answers: ingest acknowledges into the WAL, nothing is applied.
    const plane = await startPlane({
      env: { SERVICES: 'auth-gateway,tenant-node', CLICKHOUSE_URL: 'http://127.0.0.1:9', CLICKHOUSE_TIMEOUT_MS: '300', INGEST_MAX_PENDING_BYTES: '20000' },
      waitForReady: false,
    });
    try {
      // Only the gateway becomes ready: the tenant node waits for a ClickHouse that never answers.
      await plane.waitReady(10_000, ['auth-gateway']);
      const read = await fetch(plane.url('tenant-node', '/data'), { headers: { 'x-tenant-id': 'bytes', ...(await adminHeaders(plane)) } });
      assert.equal(read.status, 503);
      assert.equal(((await read.json()) as { error: { code: string } }).error.code, 'not_ready');

      // ~3 KB per request: the bound is reached by bytes long before INGEST_MAX_PENDING_ROWS.
      const body = (k: number) => JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ data_id: `r${k}-${i}`, payload: { text: 'x'.repeat(250) } })));
      let acceptedBytes = 0;
      let refused: Awaited<ReturnType<typeof post>> | undefined;
      for (let k = 0; k < 50 && !refused; k++) {
        const r = await post(plane, 'bytes', body(k));
        if (r.status === 503 && errorOf(r.json).code === 'not_ready') {
          await new Promise((res) => setTimeout(res, 50)); // the WAL is still opening
          continue;
        }
        if (r.status === 201) acceptedBytes += body(k).length;
        else refused = r;
      }
      assert.ok(refused, 'backpressure engaged');
      assert.equal(refused.status, 503);
      assert.equal(errorOf(refused.json).code, 'ingest_backpressure');
      assert.equal(refused.headers.get('retry-after'), '5');
      const pendingBytes = errorOf(refused.json).details?.pendingBytes as number;
      assert.ok(pendingBytes > 0 && pendingBytes <= 20_000, `pending bytes ${pendingBytes} within the bound`);
      assert.ok(acceptedBytes >= 15_000, `accepted up to near the bound (${acceptedBytes} bytes of bodies)`);

      await new Promise((res) => setTimeout(res, 200)); // log lines are flushed asynchronously
      const lines = plane
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; status?: number; code?: string; err?: unknown });
      const expected = lines.filter((l) => l.code === 'not_ready' || l.code === 'ingest_backpressure');
      assert.ok(expected.some((l) => l.code === 'not_ready') && expected.some((l) => l.code === 'ingest_backpressure'), 'both were logged');
      for (const l of expected) {
        assert.equal(l.level, 40, `warn: ${JSON.stringify(l)}`);
        assert.equal(l.err, undefined, 'no error object, no stack');
        assert.equal(l.msg, 'request rejected');
      }
      assert.ok(!lines.some((l) => l.level >= 50 && /not ready|ingest is paused/.test(l.msg)), 'no error line for them');
    } finally {
      await plane.cleanup();
    }
  });
});
