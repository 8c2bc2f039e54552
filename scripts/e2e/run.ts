// End-to-end check against a running instance. Host from BASE_HOST (default
// 127.0.0.1), ports from the same variables the server reads. Calls every route
// that exists, checks status and shape, prints one PASS/FAIL line per check and
// exits non-zero on any failure.
//   npm start &   then   npm run e2e
import { randomUUID } from 'node:crypto';

const host = process.env.BASE_HOST ?? '127.0.0.1';
const port = (env: string, fallback: number) => Number(process.env[env] ?? fallback);
const base = {
  'auth-gateway': `http://${host}:${port('AUTH_GATEWAY_PORT', 8090)}`,
  'tenant-node': `http://${host}:${port('TENANT_NODE_PORT', 8000)}`,
  'operation-node': `http://${host}:${port('OPERATION_NODE_PORT', 8081)}`,
  'cbo-engine': `http://${host}:${port('CBO_ENGINE_PORT', 8082)}`,
  'metadata-catalog': `http://${host}:${port('METADATA_CATALOG_PORT', 8083)}`,
  monitoring: `http://${host}:${port('MONITORING_PORT', 8084)}`,
  'query-interpreter': `http://${host}:${port('QUERY_INTERPRETER_PORT', 8085)}`,
} as const;
type Service = keyof typeof base;

const tenant = `e2e-${randomUUID().slice(0, 8)}`;
let failures = 0;
let passes = 0;

async function check(name: string, fn: () => Promise<void>) {
  try {
    await fn();
    passes++;
    console.log(`PASS ${name}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function expect(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

async function call(service: Service, method: string, path: string, opts: { body?: string; type?: string; tenant?: string | null; accept?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  if (opts.tenant !== null) headers['x-tenant-id'] = opts.tenant ?? tenant;
  if (opts.accept) headers.accept = opts.accept;
  const res = await fetch(`${base[service]}${path}`, { method, headers, body: opts.body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> };
}

function expectError(r: { status: number; json: Record<string, unknown> }, status: number, code: string) {
  expect(r.status === status, `status ${r.status}, expected ${status}`);
  const e = r.json?.error as Record<string, unknown> | undefined;
  expect(e && e.code === code && typeof e.message === 'string' && typeof e.requestId === 'string', `error shape/code: ${JSON.stringify(r.json)}`);
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const service of Object.keys(base) as Service[]) {
  await check(`${service} GET /health`, async () => {
    const r = await call(service, 'GET', '/health');
    expect(r.status === 200, `status ${r.status}`);
    expect(r.json.service === service && typeof r.json.version === 'string' && typeof r.json.uptimeSeconds === 'number', `shape ${r.text}`);
  });
  await check(`${service} GET /ready`, async () => {
    const r = await call(service, 'GET', '/ready');
    expect(r.status === 200 && r.json.status === 'ready', `status ${r.status} ${r.text}`);
  });
  await check(`${service} GET /openapi.json`, async () => {
    const r = await call(service, 'GET', '/openapi.json');
    expect(r.status === 200 && r.json.openapi === '3.1.0', `status ${r.status}`);
  });
  await check(`${service} unknown route → 404 JSON`, async () => expectError(await call(service, 'GET', '/definitely/not/here'), 404, 'not_found'));
}

await check('tenant-node POST /data (one record) → 201 {accepted, lsn}', async () => {
  const r = await call('tenant-node', 'POST', '/data', { body: JSON.stringify({ data_id: 'one', payload: { amount: 10, country: 'NL' } }) });
  expect(r.status === 201 && r.json.accepted === 1 && typeof r.json.lsn === 'number', `${r.status} ${r.text}`);
});
await check('tenant-node POST /data (array) → 201', async () => {
  const r = await call('tenant-node', 'POST', '/data', { body: JSON.stringify([{ data_id: 'two', payload: { amount: 20 } }, { data_id: 'three', payload: { amount: 30 } }]) });
  expect(r.status === 201 && r.json.accepted === 2, `${r.status} ${r.text}`);
});
await check('tenant-node POST /data (NDJSON, table=clicks) → 201', async () => {
  const body = '{"data_id":"c1","payload":{"page":"/"}}\n{"data_id":"c2","payload":{"page":"/buy"},"timestamp":"2026-11-20T10:00:00Z"}\n';
  const r = await call('tenant-node', 'POST', '/data?table=clicks', { body, type: 'application/x-ndjson' });
  expect(r.status === 201 && r.json.accepted === 2, `${r.status} ${r.text}`);
});
await check('tenant-node POST /data/store → 201', async () => {
  const r = await call('tenant-node', 'POST', '/data/store', { body: JSON.stringify({ data_id: 'four', payload: { amount: 40 } }) });
  expect(r.status === 201, `${r.status} ${r.text}`);
});
await check('tenant-node POST /data invalid record → 400 naming index and field, nothing written', async () => {
  const r = await call('tenant-node', 'POST', '/data', { body: JSON.stringify([{ data_id: 'ok', payload: {} }, { data_id: 5, payload: {} }]) });
  expectError(r, 400, 'validation_failed');
  expect(/record 1: data_id/.test(String((r.json.error as Record<string, unknown>).message)), 'message names record 1 data_id');
  const read = await call('tenant-node', 'GET', '/data?data_id=ok');
  expect(read.status === 200 && (read.json.records as unknown[]).length === 0, 'the valid record of the rejected request was not written');
});
await check('tenant-node POST /data malformed JSON → 400', async () => expectError(await call('tenant-node', 'POST', '/data', { body: '{"data_id":' }), 400, 'invalid_json'));
await check('tenant-node POST /data bad tenant → 400', async () => expectError(await call('tenant-node', 'POST', '/data', { body: '{"data_id":"x","payload":{}}', tenant: '../etc' }), 400, 'invalid_tenant_id'));
await check('tenant-node POST /data text/csv → 415', async () => expectError(await call('tenant-node', 'POST', '/data', { body: 'a,b', type: 'text/csv' }), 415, 'unsupported_media_type'));
await check('tenant-node DELETE /data → 405', async () => expectError(await call('tenant-node', 'DELETE', '/data'), 405, 'method_not_allowed'));

await check('tenant-node GET /data by data_id (read-your-writes)', async () => {
  const r = await call('tenant-node', 'GET', '/data?data_id=one');
  const recs = r.json.records as Array<Record<string, unknown>>;
  expect(r.status === 200 && recs.length === 1 && recs[0]!.data_id === 'one' && (recs[0]!.payload as Record<string, unknown>).amount === 10, r.text);
});
await check('tenant-node GET /data/retrieve with cursor pagination', async () => {
  const first = await call('tenant-node', 'GET', '/data/retrieve?limit=2');
  expect(first.status === 200 && (first.json.records as unknown[]).length === 2 && typeof first.json.next_cursor === 'string', first.text);
  const second = await call('tenant-node', 'GET', `/data/retrieve?limit=10&cursor=${encodeURIComponent(String(first.json.next_cursor))}`);
  const ids = [...(first.json.records as Array<{ data_id: string }>), ...(second.json.records as Array<{ data_id: string }>)].map((r) => r.data_id);
  expect(new Set(ids).size === 4 && ids.length === 4, `pages cover 4 distinct records: ${ids.join(',')}`);
});
await check('tenant-node GET /data NDJSON stream', async () => {
  const r = await call('tenant-node', 'GET', '/data?table=clicks', { accept: 'application/x-ndjson' });
  const lines = r.text.trim().split('\n');
  expect(r.status === 200 && /ndjson/.test(r.headers.get('content-type') ?? '') && lines.length === 2, r.text);
});
await check('tenant-node GET /data time range', async () => {
  const r = await call('tenant-node', 'GET', '/data?table=clicks&from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z');
  const recs = r.json.records as Array<{ data_id: string }>;
  expect(r.status === 200 && recs.length === 1 && recs[0]!.data_id === 'c2', r.text);
});
await check('tenant-node GET /data/stats', async () => {
  const r = await call('tenant-node', 'GET', '/data/stats');
  expect(r.status === 200 && typeof r.json.rows === 'number' && typeof (r.json.walLag as Record<string, unknown>).records === 'number', r.text);
});

await check('metadata-catalog GET /metadata/tables (after the applier ran)', async () => {
  await waitFor('rows in the catalog', async () => {
    const r = await call('metadata-catalog', 'GET', '/metadata/tables');
    const t = (r.json.tables as Array<{ table: string; rowCount: number }> | undefined)?.find((x) => x.table === 'events');
    return t?.rowCount === 4;
  });
  const r = await call('metadata-catalog', 'GET', '/metadata/tables?table=events');
  const t = (r.json.tables as Array<{ columns: Array<{ name: string; type: string }> }>)[0]!;
  expect(t.columns.some((c) => c.name === 'amount' && c.type === 'Float64'), `columns ${JSON.stringify(t.columns)}`);
});
await check('metadata-catalog POST /metadata/partitions', async () => {
  const r = await call('metadata-catalog', 'POST', '/metadata/partitions', { body: JSON.stringify({ table: 'clicks' }) });
  const parts = r.json.partitions as Array<{ rows: number; file: string }>;
  expect(r.status === 200 && parts.length >= 1 && parts.reduce((s, p) => s + p.rows, 0) === 2 && parts.every((p) => p.file.endsWith('.parquet')), r.text);
});
await check('metadata-catalog POST /metadata/partitions time filter', async () => {
  const r = await call('metadata-catalog', 'POST', '/metadata/partitions', { body: JSON.stringify({ table: 'clicks', from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z' }) });
  const parts = r.json.partitions as Array<{ date: string }>;
  expect(r.status === 200 && parts.length === 1 && parts[0]!.date === '2026-11-20', r.text);
});
await check('metadata-catalog POST /metadata/partitions unknown field → 400', async () =>
  expectError(await call('metadata-catalog', 'POST', '/metadata/partitions', { body: JSON.stringify({ tabel: 'x' }) }), 400, 'validation_failed'));
await check('metadata-catalog GET /metadata/indexes', async () => {
  const r = await call('metadata-catalog', 'GET', '/metadata/indexes');
  expect(r.status === 200 && Array.isArray(r.json.indexes) && (r.json.indexes as unknown[]).length === 2, r.text);
});
await check('metadata-catalog GET /metadata/stats', async () => {
  const r = await call('metadata-catalog', 'GET', '/metadata/stats');
  expect(r.status === 200 && r.json.rows === 6 && r.json.tables === 2, r.text);
});

await check('monitoring GET /metrics (Prometheus text)', async () => {
  const r = await call('monitoring', 'GET', '/metrics', { tenant: null });
  expect(r.status === 200 && /# TYPE http_requests_total counter/.test(r.text) && /wal_fsync_duration_seconds/.test(r.text), 'metrics text');
});
await check('monitoring GET /logs filtered', async () => {
  const r = await call('monitoring', 'GET', '/logs?level=warn&limit=5', { tenant: null });
  expect(r.status === 200 && Array.isArray(r.json.entries) && (r.json.entries as Array<{ level: number }>).every((e) => e.level >= 40), r.text);
});

console.log(`e2e: ${passes} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
