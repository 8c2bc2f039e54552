// End-to-end check against a running instance. It reads the configuration the
// way the server does (the environment over .env, ENV_FILE to name another
// file), so it finds the ports, the host and the bootstrap admin `npm start`
// uses; BASE_HOST overrides the host, E2E_ADMIN_USERNAME / E2E_ADMIN_PASSWORD
// the admin. Calls every route that exists and walks every user path (a Python
// worker registering, serving a forwarded route, being killed, leasing and
// completing a job; idempotent replays; tenant limits; cancelling a running
// query; dashboard sign-in, refresh and sign-out; the seed's quick-start
// requests), checks status and shape, prints one PASS/FAIL line per check
// (SKIP with the reason where the instance cannot show a path) and exits
// non-zero on any failure. It creates its own tenants and keys.
//   npm start &   then   npm run e2e      (DISTRIBUTED_MODE=true npm start covers forwarding too)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type AppConfig } from '../../src/platform/config/load-config.js';

let config: AppConfig;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.log(`FAIL configuration (the server would refuse it too): ${err.message}`);
  process.exit(1);
}
const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '';
const host = process.env.BASE_HOST ?? (wildcard ? '127.0.0.1' : config.host);
const origin = (port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
const base = {
  'auth-gateway': origin(config.ports['auth-gateway']),
  'tenant-node': origin(config.ports['tenant-node']),
  'operation-node': origin(config.ports['operation-node']),
  'cbo-engine': origin(config.ports['cbo-engine']),
  'metadata-catalog': origin(config.ports['metadata-catalog']),
  monitoring: origin(config.ports.monitoring),
  'query-interpreter': origin(config.ports['query-interpreter']),
} as const;
type Service = keyof typeof base;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const tenant = `e2e-${randomUUID().slice(0, 8)}`;
const adminUsername = process.env.E2E_ADMIN_USERNAME ?? config.auth.adminUsername;
const adminPassword = process.env.E2E_ADMIN_PASSWORD ?? config.auth.adminPassword;
/** Bearer credentials: the admin's access token, and the tenant's writer API key (default for `call`). */
const creds = { admin: '', writer: '' };
let failures = 0;
let passes = 0;
let skips = 0;

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

function skip(name: string, why: string) {
  skips++;
  console.log(`SKIP ${name}: ${why}`);
}

function expect(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

async function call(
  service: Service,
  method: string,
  path: string,
  opts: { body?: string; type?: string; tenant?: string | null; accept?: string; bearer?: string | null; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  if (opts.tenant !== null) headers['x-tenant-id'] = opts.tenant ?? tenant;
  const bearer = opts.bearer === undefined ? creds.writer : opts.bearer;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
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
    expect(typeof r.json.time === 'string' && new Date(String(r.json.time)).toISOString() === r.json.time, `time is ISO-8601: ${r.text}`);
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

const json = (v: unknown) => JSON.stringify(v);
const admin = () => ({ bearer: creds.admin, tenant: null });
const errorCode = (r: { json: Record<string, unknown> }) => (r.json?.error as { code?: string } | undefined)?.code;

// ---- auth gateway: login, tokens, admin API ----
await check('auth-gateway POST /auth/login as admin → access + refresh token', async () => {
  const r = await call('auth-gateway', 'POST', '/auth/login', { body: json({ username: adminUsername, password: adminPassword }), bearer: null, tenant: null });
  expect(r.status === 200 && typeof r.json.access_token === 'string' && typeof r.json.refresh_token === 'string' && Number(r.json.expires_in) > 0, `${r.status} ${r.text}`);
  creds.admin = String(r.json.access_token);
});
await check('auth-gateway POST /auth/login wrong password → 401', async () =>
  expectError(await call('auth-gateway', 'POST', '/auth/login', { body: json({ username: `nobody-${tenant}`, password: 'wrong' }), bearer: null, tenant: null }), 401, 'unauthorized'));
await check('auth-gateway GET /auth/me as admin', async () => {
  const r = await call('auth-gateway', 'GET', '/auth/me', admin());
  expect(r.status === 200 && (r.json.principal as Record<string, unknown>).role === 'admin', r.text);
});
await check('auth-gateway POST /auth/validate → claims', async () => {
  const r = await call('auth-gateway', 'POST', '/auth/validate', admin());
  expect(r.status === 200 && r.json.valid === true && (r.json.claims as Record<string, unknown>).sub === adminUsername, r.text);
});
await check('auth-gateway POST /auth/validate without a token → 401', async () =>
  expectError(await call('auth-gateway', 'POST', '/auth/validate', { bearer: null, tenant: null }), 401, 'unauthorized'));
await check('auth-gateway POST /admin/tenants → 201, again → 409', async () => {
  const r = await call('auth-gateway', 'POST', '/admin/tenants', { ...admin(), body: json({ id: tenant, name: 'e2e tenant', limits: { ingestRowsPerSecond: 10_000 } }) });
  expect(r.status === 201 && r.json.id === tenant, `${r.status} ${r.text}`);
  expectError(await call('auth-gateway', 'POST', '/admin/tenants', { ...admin(), body: json({ id: tenant }) }), 409, 'conflict');
});
await check('auth-gateway GET /admin/tenants and /admin/tenants/:id', async () => {
  const list = await call('auth-gateway', 'GET', '/admin/tenants', admin());
  expect(list.status === 200 && (list.json.tenants as Array<{ id: string }>).some((t) => t.id === tenant), list.text);
  const one = await call('auth-gateway', 'GET', `/admin/tenants/${tenant}`, admin());
  expect(one.status === 200 && (one.json.limits as Record<string, unknown>).ingestRowsPerSecond === 10_000, one.text);
});
await check('auth-gateway PATCH /admin/tenants/:id limits', async () => {
  const r = await call('auth-gateway', 'PATCH', `/admin/tenants/${tenant}`, { ...admin(), body: json({ limits: { ingestBurstRows: 50_000 } }) });
  const limits = r.json.limits as Record<string, unknown>;
  expect(r.status === 200 && limits.ingestBurstRows === 50_000 && limits.ingestRowsPerSecond === 10_000, r.text);
});
await check('auth-gateway POST /admin/api-keys (writer) → 201, key shown once', async () => {
  const r = await call('auth-gateway', 'POST', '/admin/api-keys', { ...admin(), body: json({ name: 'e2e writer', tenant, role: 'writer' }) });
  expect(r.status === 201 && typeof r.json.key === 'string' && String(r.json.key).startsWith('cpk_') && r.json.hash === undefined, `${r.status} ${r.text}`);
  creds.writer = String(r.json.key);
  const list = await call('auth-gateway', 'GET', `/admin/api-keys?tenant=${tenant}`, admin());
  expect(list.status === 200 && !list.text.includes(creds.writer) && !list.text.includes('scrypt$'), 'listing never shows keys or hashes');
});
await check('auth-gateway admin routes refuse a tenant API key → 403', async () =>
  expectError(await call('auth-gateway', 'GET', '/admin/tenants', { tenant: null }), 403, 'forbidden'));
await check('auth-gateway users: create reader, log in, refresh rotates, reuse revokes, logout', async () => {
  const username = `reader-${tenant}`;
  const created = await call('auth-gateway', 'POST', '/admin/users', { ...admin(), body: json({ username, password: 'reader-password-1', role: 'reader', tenant }) });
  expect(created.status === 201 && created.json.passwordHash === undefined, `${created.status} ${created.text}`);
  const users = await call('auth-gateway', 'GET', `/admin/users?tenant=${tenant}`, admin());
  expect(users.status === 200 && (users.json.users as Array<{ username: string }>).some((u) => u.username === username), users.text);
  const login = await call('auth-gateway', 'POST', '/auth/login', { body: json({ username, password: 'reader-password-1' }), bearer: null, tenant: null });
  expect(login.status === 200, login.text);
  const refreshed = await call('auth-gateway', 'POST', '/auth/refresh', { body: json({ refresh_token: login.json.refresh_token }), bearer: null, tenant: null });
  expect(refreshed.status === 200 && refreshed.json.refresh_token !== login.json.refresh_token, `refresh ${refreshed.status} ${refreshed.text}`);
  const reader = String(refreshed.json.access_token);
  const read = await call('tenant-node', 'GET', '/data/stats', { bearer: reader });
  expect(read.status === 200, `reader reads: ${read.status}`);
  expectError(await call('tenant-node', 'POST', '/data', { bearer: reader, body: json({ data_id: 'r', payload: {} }) }), 403, 'forbidden');
  const reused = await call('auth-gateway', 'POST', '/auth/refresh', { body: json({ refresh_token: login.json.refresh_token }), bearer: null, tenant: null });
  expectError(reused, 401, 'unauthorized');
  expectError(await call('tenant-node', 'GET', '/data/stats', { bearer: reader }), 401, 'unauthorized');
  const again = await call('auth-gateway', 'POST', '/auth/login', { body: json({ username, password: 'reader-password-1' }), bearer: null, tenant: null });
  const token = String(again.json.access_token);
  const out = await call('auth-gateway', 'POST', '/auth/logout', { bearer: token, tenant: null });
  expect(out.status === 200 && out.json.revoked === true, out.text);
  expectError(await call('auth-gateway', 'GET', '/auth/me', { bearer: token, tenant: null }), 401, 'unauthorized');
  const disabled = await call('auth-gateway', 'POST', `/admin/users/${username}/disable`, admin());
  expect(disabled.status === 200 && (disabled.json.user as Record<string, unknown>).disabled === true, disabled.text);
});
await check('auth-gateway POST /auth/password and PATCH /admin/users/:username (reset, re-enable)', async () => {
  const username = `writer-${tenant}`;
  const created = await call('auth-gateway', 'POST', '/admin/users', { ...admin(), body: json({ username, password: 'first-password-1', role: 'writer', tenant }) });
  expect(created.status === 201, created.text);
  const loginAs = (password: string) => call('auth-gateway', 'POST', '/auth/login', { body: json({ username, password }), bearer: null, tenant: null });
  const token = String((await loginAs('first-password-1')).json.access_token);
  expectError(
    await call('auth-gateway', 'POST', '/auth/password', { bearer: token, tenant: null, body: json({ current_password: 'wrong-one', new_password: 'second-password-2' }) }),
    401,
    'unauthorized',
  );
  const changed = await call('auth-gateway', 'POST', '/auth/password', { bearer: token, tenant: null, body: json({ current_password: 'first-password-1', new_password: 'second-password-2' }) });
  expect(changed.status === 200 && Number(changed.json.revokedSessions) >= 1, changed.text);
  expectError(await call('auth-gateway', 'GET', '/auth/me', { bearer: token, tenant: null }), 401, 'unauthorized');
  expect((await loginAs('second-password-2')).status === 200, 'the new password works');
  const reset = await call('auth-gateway', 'PATCH', `/admin/users/${username}`, { ...admin(), body: json({ password: 'third-password-3', disabled: true }) });
  expect(reset.status === 200 && (reset.json.user as Record<string, unknown>).disabled === true, reset.text);
  expectError(await loginAs('third-password-3'), 403, 'forbidden');
  const enabled = await call('auth-gateway', 'PATCH', `/admin/users/${username}`, { ...admin(), body: json({ disabled: false }) });
  expect(enabled.status === 200 && (enabled.json.user as Record<string, unknown>).disabled === undefined, enabled.text);
  expect((await loginAs('third-password-3')).status === 200, 're-enabled user logs in with the reset password');
});
await check('auth-gateway POST /admin/service-credentials → service key; it cannot touch tenant data', async () => {
  const r = await call('auth-gateway', 'POST', '/admin/service-credentials', { ...admin(), body: json({ name: 'e2e worker' }) });
  expect(r.status === 201 && r.json.role === 'service', r.text);
  const me = await call('auth-gateway', 'GET', '/auth/me', { bearer: String(r.json.key), tenant: null });
  expect(me.status === 200 && (me.json.principal as Record<string, unknown>).kind === 'service', me.text);
  expectError(await call('tenant-node', 'GET', '/data', { bearer: String(r.json.key) }), 403, 'forbidden');
});
await check('auth-gateway DELETE /admin/api-keys/:id revokes at once', async () => {
  const made = await call('auth-gateway', 'POST', '/admin/api-keys', { ...admin(), body: json({ name: 'short-lived', tenant, role: 'reader' }) });
  const key = String(made.json.key);
  expect((await call('tenant-node', 'GET', '/data/stats', { bearer: key })).status === 200, 'works before revocation');
  const del = await call('auth-gateway', 'DELETE', `/admin/api-keys/${String(made.json.id)}`, admin());
  expect(del.status === 200 && typeof del.json.revokedAt === 'number', del.text);
  expectError(await call('tenant-node', 'GET', '/data/stats', { bearer: key }), 401, 'unauthorized');
});
await check('auth-gateway disable tenant → its key gets 403; other tenant untouched', async () => {
  const other = `${tenant}-off`;
  await call('auth-gateway', 'POST', '/admin/tenants', { ...admin(), body: json({ id: other }) });
  const made = await call('auth-gateway', 'POST', '/admin/api-keys', { ...admin(), body: json({ name: 'to be disabled', tenant: other }) });
  const r = await call('auth-gateway', 'POST', `/admin/tenants/${other}/disable`, admin());
  expect(r.status === 200 && r.json.disabled === true, r.text);
  expectError(await call('tenant-node', 'GET', '/data/stats', { bearer: String(made.json.key), tenant: other }), 403, 'forbidden');
});
await check('tenant-node without credential → 401; with another tenant → 403', async () => {
  expectError(await call('tenant-node', 'POST', '/data', { bearer: null, body: json({ data_id: 'x', payload: {} }) }), 401, 'unauthorized');
  expectError(await call('tenant-node', 'GET', '/data', { tenant: 'someone-else' }), 403, 'forbidden');
  expect(errorCode(await call('metadata-catalog', 'GET', '/metadata/tables', { bearer: null })) === 'unauthorized', 'catalog needs a credential');
});

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
  const r = await call('monitoring', 'GET', '/metrics', admin());
  expect(r.status === 200 && /# TYPE http_requests_total counter/.test(r.text) && /wal_fsync_duration_seconds/.test(r.text), 'metrics text');
});
await check('monitoring GET /logs filtered', async () => {
  const r = await call('monitoring', 'GET', '/logs?level=warn&limit=5', admin());
  expect(r.status === 200 && Array.isArray(r.json.entries) && (r.json.entries as Array<{ level: number }>).every((e) => e.level >= 40), r.text);
});

// ---- monitoring: alerts and the dashboard (issue 7) ----
await check('monitoring GET /alerts → every rule with state, since, value, threshold', async () => {
  const r = await call('monitoring', 'GET', '/alerts', admin());
  const alerts = r.json.alerts as Array<{ name: string; state: string; since: string; threshold: number }>;
  expect(r.status === 200 && alerts.length >= 7, `${r.status} ${r.text}`);
  expect(alerts.every((a) => ['inactive', 'pending', 'firing'].includes(a.state) && !Number.isNaN(Date.parse(a.since)) && typeof a.threshold === 'number'), r.text);
  expect(['wal_lag', 'applier_stalled', 'http_5xx_ratio', 'disk_free_low', 'worker_down'].every((n) => alerts.some((a) => a.name === n)), 'default rules present');
});
await check('monitoring GET /alerts without a credential → 401', async () => expectError(await call('monitoring', 'GET', '/alerts', { bearer: null, tenant: null }), 401, 'unauthorized'));
await check('monitoring GET /logs?since=<ISO> filters by time', async () => {
  const since = Date.now() - 60_000;
  const r = await call('monitoring', 'GET', `/logs?since=${encodeURIComponent(new Date(since).toISOString())}&limit=50`, admin());
  expect(r.status === 200 && (r.json.entries as Array<{ time: number }>).every((e) => e.time >= since), r.text);
});
await check('monitoring GET /dashboard → public HTML page with its assets', async () => {
  const page = await call('monitoring', 'GET', '/dashboard', { bearer: null, tenant: null });
  expect(page.status === 200 && /text\/html/.test(page.headers.get('content-type') ?? '') && /id="login-form"/.test(page.text), `${page.status}`);
  const js = await call('monitoring', 'GET', '/dashboard/assets/dashboard.js', { bearer: null, tenant: null });
  expect(js.status === 200 && /javascript/.test(js.headers.get('content-type') ?? ''), `dashboard.js ${js.status}`);
});
await check('monitoring POST /dashboard/login → access token that reads the snapshot', async () => {
  const login = await call('monitoring', 'POST', '/dashboard/login', { body: json({ username: adminUsername, password: adminPassword }), bearer: null, tenant: null });
  expect(login.status === 200 && typeof login.json.access_token === 'string' && login.json.token_type === 'Bearer', `${login.status} ${login.text}`);
  const snap = await call('monitoring', 'GET', '/dashboard/api/snapshot?points=5&logs=5', { bearer: String(login.json.access_token), tenant: null });
  const services = snap.json.services as Array<{ status: string }>;
  expect(snap.status === 200 && services.length === 7 && Array.isArray(snap.json.charts) && Array.isArray(snap.json.tenants), snap.text.slice(0, 300));
  expect((snap.json.tenants as Array<{ tenant: string }>).some((t) => t.tenant === tenant), 'the e2e tenant is listed');
});
await check('monitoring GET /dashboard/api/snapshot without a credential → 401', async () =>
  expectError(await call('monitoring', 'GET', '/dashboard/api/snapshot', { bearer: null, tenant: null }), 401, 'unauthorized'));

// ---- query path: interpreter, CBO, operation node, /data/execute (issue 5) ----
const querySql = 'SELECT page, count() AS n FROM clicks GROUP BY page ORDER BY page';
await check('query-interpreter POST /parse/sql → AST; POST /parse/dsl → same form', async () => {
  const a = await call('query-interpreter', 'POST', '/parse/sql', { body: json({ sql: querySql }) });
  expect(a.status === 200 && (a.json.ast as { kind: string }).kind === 'select', a.text);
  const d = await call('query-interpreter', 'POST', '/parse/dsl', { body: json({ table: 'clicks', groupBy: ['page'], aggregations: [{ fn: 'count' }] }) });
  expect(d.status === 200 && (d.json.ast as { from: { table: string } }).from.table === 'clicks', d.text);
});
await check('query-interpreter POST /validate/query unknown column → 400 with line and column', async () => {
  const r = await call('query-interpreter', 'POST', '/validate/query', { body: json({ sql: 'SELECT page,\n  nope FROM clicks' }) });
  expectError(r, 400, 'invalid_query');
  const details = (r.json.error as { details: { line: number; column: number } }).details;
  expect(details.line === 2 && details.column === 3, r.text);
});
await check('query-interpreter POST /transform/plan → logical plan', async () => {
  const r = await call('query-interpreter', 'POST', '/transform/plan', { body: json({ sql: querySql }) });
  expect(r.status === 200 && (r.json.logical as { op: string }).op === 'sort', r.text);
});
await check('cbo-engine POST /optimize/query → physical plan with estimates', async () => {
  const r = await call('cbo-engine', 'POST', '/optimize/query', { body: json({ sql: "SELECT count() FROM clicks WHERE date = '2026-11-20'" }) });
  expect(r.status === 200 && typeof r.json.estimatedRows === 'number' && (r.json.physical as { estRows: number }).estRows >= 0, r.text);
});
await check('cbo-engine GET /optimize/stats and GET /optimize/config', async () => {
  const st = await call('cbo-engine', 'GET', '/optimize/stats', admin());
  expect(st.status === 200 && typeof st.json.plans === 'number', st.text);
  const cfg = await call('cbo-engine', 'GET', '/optimize/config', admin());
  expect(cfg.status === 200 && typeof (cfg.json.weights as { clickhouseRowCost: number }).clickhouseRowCost === 'number', cfg.text);
  expectError(await call('cbo-engine', 'PUT', '/optimize/config', { ...admin(), body: json({ parquetRowCost: -1 }) }), 400, 'validation_failed');
});
let e2eQueryId = '';
await check('operation-node POST /query/execute → JSON rows', async () => {
  const r = await call('operation-node', 'POST', '/query/execute', { body: json({ sql: 'SELECT count() AS n FROM clicks' }) });
  expect(r.status === 200 && (r.json.rows as Array<{ n: number }>)[0]!.n === 2 && typeof r.json.queryId === 'string', r.text);
  e2eQueryId = String(r.json.queryId);
});
await check('operation-node POST /query/execute NDJSON and Arrow on Accept', async () => {
  const nd = await call('operation-node', 'POST', '/query/execute', { body: json({ sql: querySql }), accept: 'application/x-ndjson' });
  expect(nd.status === 200 && nd.text.trim().split('\n').length === 2, nd.text);
  const ar = await call('operation-node', 'POST', '/query/execute', { body: json({ sql: querySql }), accept: 'application/vnd.apache.arrow.stream' });
  expect(ar.status === 200 && /apache\.arrow/.test(ar.headers.get('content-type') ?? ''), `${ar.status}`);
});
await check('operation-node refuses hostile SQL → 400 (system tables, two statements, SETTINGS)', async () => {
  for (const sql of ['SELECT * FROM system.tables', 'SELECT 1 FROM clicks; DROP TABLE clicks', 'SELECT 1 FROM clicks SETTINGS readonly = 0', "SELECT * FROM file('/etc/passwd')"]) {
    expectError(await call('operation-node', 'POST', '/query/execute', { body: json({ sql }) }), 400, 'invalid_query');
  }
});
await check('operation-node GET /query/plan?analyze=true → estimates, actual rows, q-error', async () => {
  const r = await call('operation-node', 'GET', `/query/plan?analyze=true&sql=${encodeURIComponent(querySql)}`);
  const an = r.json.analyze as { actualRows: number; qErrors: unknown[] } | undefined;
  expect(r.status === 200 && r.json.physical && an && an.actualRows === 2 && an.qErrors.length > 0, r.text);
});
await check('operation-node GET /query/status, GET /query/running, DELETE /query/:id unknown → 404', async () => {
  const st = await call('operation-node', 'GET', `/query/status?id=${e2eQueryId}`);
  expect(st.status === 200 && st.json.state === 'finished' && st.json.rows === 1, st.text);
  const run = await call('operation-node', 'GET', '/query/running?state=all');
  expect(run.status === 200 && (run.json.queries as Array<{ id: string }>).some((q) => q.id === e2eQueryId), run.text);
  expectError(await call('operation-node', 'DELETE', `/query/${randomUUID()}`), 404, 'not_found');
});
await check('operation-node GET /query/history → the query log: the query above with its text and normalized form; admins see every tenant; a bad filter → 400', async () => {
  // Entries are written in batches (QUERY_LOG_FLUSH_INTERVAL_MS): wait for this one.
  let entry: Record<string, unknown> | undefined;
  await waitFor('the query in the log', async () => {
    const h = await call('operation-node', 'GET', '/query/history?limit=100');
    entry = (h.json?.entries as Array<Record<string, unknown>> | undefined)?.find((e) => e.queryId === e2eQueryId);
    return entry !== undefined;
  });
  expect(entry!.state === 'finished' && entry!.query === 'SELECT count() AS n FROM clicks' && entry!.normalizedQuery === 'SELECT count() AS n FROM clicks' && entry!.tenant === tenant, JSON.stringify(entry));
  const all = await call('operation-node', 'GET', `/query/history?sort=slowest&limit=5&tenant=${tenant}`, admin());
  expect(all.status === 200 && (all.json.entries as unknown[]).length > 0 && 'nextCursor' in all.json, all.text);
  expectError(await call('operation-node', 'GET', '/query/history?state=running'), 400, 'validation_failed');
});
await check('monitoring query console: GET /dashboard/api/queries, GET /dashboard/api/history, DELETE /dashboard/api/queries/:id unknown → 404', async () => {
  const running = await call('monitoring', 'GET', '/dashboard/api/queries', admin());
  expect(running.status === 200 && typeof running.json.available === 'boolean' && Array.isArray(running.json.queries), running.text);
  const hist = await call('monitoring', 'GET', `/dashboard/api/history?tenant=${tenant}&limit=5`, admin());
  expect(hist.status === 200 && Array.isArray(hist.json.entries), hist.text);
  expectError(await call('monitoring', 'DELETE', `/dashboard/api/queries/${randomUUID()}`, admin()), 404, 'not_found');
});
await check('operation-node GET /nodes/status → engines with health', async () => {
  const r = await call('operation-node', 'GET', '/nodes/status', admin());
  const engines = r.json.engines as Array<{ name: string; healthy: boolean }>;
  expect(r.status === 200 && engines.some((e) => e.name === 'clickhouse' && e.healthy), r.text);
});
await check('tenant-node POST /data/execute (DSL) → the tenant’s rows only', async () => {
  const r = await call('tenant-node', 'POST', '/data/execute', { body: json({ dsl: { table: 'clicks', select: ['data_id'], orderBy: [{ column: 'data_id' }] } }) });
  expect(r.status === 200 && json((r.json.rows as Array<{ data_id: string }>).map((x) => x.data_id)) === json(['c1', 'c2']), r.text);
});

await userPaths();

console.log(`e2e: ${passes} passed, ${failures} failed${skips ? `, ${skips} skipped` : ''}`);
process.exit(failures === 0 ? 0 : 1);

// ---- user paths (issue 18) ----

/** The reference worker as a child process; killed when this script ends. */
function startWorker(args: string[], token: string): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  const child = spawn('python3', [path.join(REPO_ROOT, 'services/worker.py'), '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', WORKER_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"url": "([^"]+)"/.exec(out);
      if (m) resolve({ child, url: m[1]!, logs: () => err });
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before listening: ${err.slice(-500)}`)));
    setTimeout(() => reject(new Error('worker did not listen within 10 s')), 10_000).unref();
  });
}

async function userPaths() {
  // The seed's quick-start, as written there: log in, query and parse with {"query": …}, health on every port.
  await check('quick-start: login, POST /query/execute and /parse/sql with {"query": …}, a bearer token', async () => {
    const login = await call('auth-gateway', 'POST', '/auth/login', { body: json({ username: adminUsername, password: adminPassword }), bearer: null, tenant: null });
    expect(login.status === 200 && typeof login.json.access_token === 'string', login.text);
    const bearer = String(login.json.access_token);
    const q = await call('operation-node', 'POST', '/query/execute', { bearer, body: json({ query: 'SELECT count() AS n FROM clicks' }) });
    expect(q.status === 200 && (q.json.rows as Array<{ n: number }>)[0]!.n === 2, `query: ${q.status} ${q.text}`);
    const p = await call('query-interpreter', 'POST', '/parse/sql', { bearer, tenant: null, body: json({ query: 'SELECT page FROM clicks' }) });
    expect(p.status === 200 && (p.json.ast as { from: { table: string } }).from.table === 'clicks', `parse: ${p.status} ${p.text}`);
    expectError(await call('query-interpreter', 'POST', '/parse/sql', { bearer, tenant: null, body: json({ sql: 'SELECT 1 FROM t', query: 'SELECT 1 FROM t' }) }), 400, 'validation_failed');
    for (const service of Object.keys(base) as Service[]) {
      const h = await call(service, 'GET', '/health', { bearer, tenant: null });
      expect(h.status === 200 && typeof h.json.time === 'string', `${service} /health: ${h.status}`);
    }
  });

  await check('tenant-node Idempotency-Key: a retried request replays the first answer, writes nothing twice', async () => {
    const key = `e2e-${randomUUID()}`;
    const body = json({ data_id: 'idem-1', payload: { amount: 1 } });
    const first = await call('tenant-node', 'POST', '/data?table=idem', { body, headers: { 'idempotency-key': key } });
    expect(first.status === 201, `first: ${first.status} ${first.text}`);
    const again = await call('tenant-node', 'POST', '/data?table=idem', { body, headers: { 'idempotency-key': key } });
    expect(again.status === 200 && again.json.replayed === true && again.json.lsn === first.json.lsn, `replay: ${again.status} ${again.text}`);
    const read = await call('tenant-node', 'GET', '/data?table=idem');
    expect((read.json.records as unknown[]).length === 1, `one record: ${read.text}`);
  });

  await check('tenant-node over the tenant’s ingest limit → 429 with Retry-After', async () => {
    const limited = `${tenant}-lim`;
    const made = await call('auth-gateway', 'POST', '/admin/tenants', { ...admin(), body: json({ id: limited, limits: { ingestRowsPerSecond: 1, ingestBurstRows: 2 } }) });
    expect(made.status === 201, made.text);
    const key = await call('auth-gateway', 'POST', '/admin/api-keys', { ...admin(), body: json({ name: 'e2e limited', tenant: limited, role: 'writer' }) });
    const bearer = String(key.json.key);
    const rows = (from: number) => json([{ data_id: `l${from}`, payload: {} }, { data_id: `l${from + 1}`, payload: {} }]);
    const ok = await call('tenant-node', 'POST', '/data?table=limited', { bearer, tenant: limited, body: rows(0) });
    expect(ok.status === 201, `within the burst: ${ok.status} ${ok.text}`);
    const over = await call('tenant-node', 'POST', '/data?table=limited', { bearer, tenant: limited, body: rows(2) });
    expectError(over, 429, 'rate_limited');
    expect(Number(over.headers.get('retry-after')) >= 1, `Retry-After: ${over.headers.get('retry-after')}`);
  });

  {
    const name = 'operation-node cancel a running query: DELETE /query/:id → cancelled, its request → 409';
    const rows = Array.from({ length: 300 }, (_, i) => ({ data_id: `b${i}`, payload: { k: i % 2 === 0 ? 'x' : 'y' } }));
    const posted = await call('tenant-node', 'POST', '/data?table=big', { body: json(rows) });
    await waitFor('big applied', async () => {
      const r = await call('metadata-catalog', 'GET', '/metadata/tables?table=big');
      return (r.json.tables as Array<{ rowCount: number }> | undefined)?.[0]?.rowCount === 300;
    }).catch(() => undefined);
    // 150^5 rows per key where joins multiply (the embedded engine): runs for minutes unless cancelled.
    const slow = 'SELECT count() FROM big a JOIN big b ON a.k = b.k JOIN big c ON b.k = c.k JOIN big d ON c.k = d.k JOIN big e ON d.k = e.k';
    let settled = false;
    const pending = call('operation-node', 'POST', '/query/execute', { body: json({ sql: slow, timeoutMs: 120_000 }) }).finally(() => (settled = true));
    let id: string | undefined;
    const deadline = Date.now() + 20_000;
    while (!id && !settled && Date.now() < deadline) {
      const list = await call('operation-node', 'GET', '/query/running');
      id = (list.json.queries as Array<{ id: string }> | undefined)?.[0]?.id;
      if (!id) await new Promise((r) => setTimeout(r, 50));
    }
    if (!id && settled) {
      // An engine whose joins do not multiply rows (ClickHouse 18.16 joins ANY by default) answers at once.
      const done = await pending;
      skip(name, `the query finished (${done.status}) before it could be seen running on this engine`);
    } else {
      await check(name, async () => {
        expect(posted.status === 201, posted.text);
        expect(id, 'the query never showed as running');
        const cancel = await call('operation-node', 'DELETE', `/query/${id}`);
        expect(cancel.status === 200 && cancel.json.state === 'cancelled', `cancel: ${cancel.status} ${cancel.text}`);
        expectError(await pending, 409, 'query_cancelled');
      });
    }
  }

  await check('monitoring dashboard: sign in, refresh (rotating), sign out', async () => {
    const login = await call('monitoring', 'POST', '/dashboard/login', { body: json({ username: adminUsername, password: adminPassword }), bearer: null, tenant: null });
    expect(login.status === 200 && typeof login.json.refresh_token === 'string' && Number(login.json.expires_in) > 0, login.text);
    const refreshed = await call('monitoring', 'POST', '/dashboard/refresh', { body: json({ refresh_token: login.json.refresh_token }), bearer: null, tenant: null });
    expect(refreshed.status === 200 && refreshed.json.refresh_token !== login.json.refresh_token, `refresh: ${refreshed.status} ${refreshed.text}`);
    const bearer = String(refreshed.json.access_token);
    expect((await call('monitoring', 'GET', '/dashboard/api/snapshot?points=2&logs=1', { bearer, tenant: null })).status === 200, 'the refreshed token reads the snapshot');
    const out = await call('monitoring', 'POST', '/dashboard/logout', { bearer, tenant: null });
    expect(out.status === 200 && out.json.revoked === true, `logout: ${out.status} ${out.text}`);
    expectError(await call('monitoring', 'GET', '/dashboard/api/snapshot', { bearer, tenant: null }), 401, 'unauthorized');
  });

  await workerPaths();
}

async function workerPaths() {
  const cred = await call('auth-gateway', 'POST', '/admin/service-credentials', { ...admin(), body: json({ name: `e2e worker ${tenant}` }) });
  if (cred.status !== 201) {
    await check('worker: a service credential for the Python worker', async () => expect(false, `${cred.status} ${cred.text}`));
    return;
  }
  const id = `e2e-${tenant}`;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  const listing = async () => (await call('operation-node', 'GET', '/workers', admin())).json as {
    distributedMode: boolean;
    workers: Array<{ id: string; status: string }>;
    forwarding: Record<string, Array<{ id: string; healthy: boolean; circuit: string }>>;
  };
  await check('worker: the Python worker registers (POST /workers/register) and heartbeats', async () => {
    worker = await startWorker(['--id', id, '--service', 'query-interpreter', '--jobs', 'column-stats', '--poll-ms', '200', '--control-plane', base['operation-node']], String(cred.json.key));
    await waitFor('the worker registered', async () => (await listing()).workers.some((w) => w.id === id && w.status === 'up'), 15_000);
  });
  if (!worker) return;
  const distributed = (await listing()).distributedMode;
  const parse = () => call('query-interpreter', 'POST', '/parse/sql', { bearer: creds.admin, tenant: null, body: json({ query: 'SELECT page, count() FROM clicks GROUP BY page' }) });
  if (distributed) {
    await check('worker: a forwarded POST /parse/sql is served by it (X-Served-By), with the local answer’s content', async () => {
      await waitFor('the worker healthy in rotation', async () => (await listing()).forwarding['query-interpreter']?.some((e) => e.id === id && e.healthy && e.circuit === 'closed') === true, 15_000);
      const r = await parse();
      expect(r.status === 200 && r.headers.get('x-served-by') === id, `${r.status} served by ${r.headers.get('x-served-by')}: ${r.text.slice(0, 200)}`);
      expect((r.json.ast as { groupBy: unknown[] }).groupBy.length === 1, r.text.slice(0, 200));
    });
  } else {
    skip('worker: a forwarded POST /parse/sql is served by it', 'this instance runs with DISTRIBUTED_MODE=false (start it with DISTRIBUTED_MODE=true to forward)');
  }
  await check('worker: it leases a column-stats job and completes it; the statistics carry most common values', async () => {
    const enq = await call('operation-node', 'POST', '/jobs', { ...admin(), body: json({ type: 'column-stats', payload: { tenant, table: 'events' } }) });
    expect(enq.status === 201, `enqueue: ${enq.status} ${enq.text}`);
    let job: Record<string, unknown> = {};
    await waitFor('the job completed', async () => {
      job = (await call('operation-node', 'GET', `/jobs/${String(enq.json.id)}`, admin())).json;
      return job.status === 'completed' || job.status === 'failed';
    }, 20_000);
    expect(job.status === 'completed' && job.completedBy === id, `job: ${json(job).slice(0, 300)}`);
    const cols = (job.result as { columns: Record<string, { mcv?: unknown[]; nullFraction: number }> }).columns;
    expect(Array.isArray(cols.amount?.mcv) && typeof cols.country?.nullFraction === 'number', json(cols).slice(0, 300));
    expectError(await call('operation-node', 'POST', '/jobs', { ...admin(), body: json({ type: 'no-such-job', payload: { tenant } }) }), 400, 'validation_failed');
  });
  await check('worker: killed (SIGKILL), its requests fall back to the local implementation', async () => {
    worker!.child.kill('SIGKILL');
    if (!distributed) {
      // Without forwarding there is nothing to fall back from; the registration simply expires.
      return;
    }
    const r = await parse();
    expect(r.status === 200 && r.headers.get('x-served-by') === 'local', `${r.status} served by ${r.headers.get('x-served-by')}`);
    await waitFor('the plane notices', async () => (await listing()).forwarding['query-interpreter']?.every((e) => e.id !== id || !e.healthy) === true, 15_000);
  });
}
