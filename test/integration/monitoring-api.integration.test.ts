// The monitoring service's routes against the real process: /metrics accepted
// by promtool with per-tenant series capped, /alerts shape and filter, /logs
// filters and redaction, and the dashboard's page, assets, login and data API.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { MAX_TENANT_LABELS } from '../../src/ingest/metrics.js';
import { TEST_ADMIN_PASSWORD, TEST_ADMIN_USERNAME, adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

describe('monitoring routes', () => {
  let plane: RunningPlane;
  let admin: Record<string, string>;
  before(async () => {
    plane = await startPlane({ env: { ALERT_EVAL_INTERVAL_MS: '200', MONITORING_SAMPLE_INTERVAL_MS: '200' } });
    admin = await adminHeaders(plane);
  });
  after(async () => plane?.cleanup());

  const get = (path: string, headers: Record<string, string> = admin) => fetch(plane.url('monitoring', path), { headers });

  test('/metrics passes promtool check metrics, and per-tenant series stay capped', async (t) => {
    // More tenants than the label cap: the overflow shares the "~other" series (a tenant may be called "other").
    const tenants = Array.from({ length: MAX_TENANT_LABELS + 5 }, (_, i) => `cap-${i}`);
    await Promise.all(
      tenants.map(async (tenant) => {
        const res = await fetch(plane.url('tenant-node', '/data'), {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json', 'x-tenant-id': tenant },
          body: JSON.stringify({ data_id: 'x', payload: { n: 1 } }),
        });
        assert.equal(res.status, 201);
      }),
    );
    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const tenantSeries = text.split('\n').filter((l) => l.startsWith('ingest_rows_total{'));
    assert.ok(tenantSeries.length <= MAX_TENANT_LABELS + 1, `${tenantSeries.length} ingest_rows_total series`);
    assert.match(text, /^ingest_rows_total\{tenant="~other"\} 5$/m);
    for (const name of ['alerts_firing', 'data_dir_free_ratio', 'applier_seconds_since_progress', 'applier_lag_wal_records', 'wal_fsync_duration_seconds_bucket', 'http_request_duration_seconds_bucket']) {
      assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} is exported`);
    }
    if (!PROMTOOL) {
      console.log('# skipping promtool check: promtool not installed (Debian package prometheus)');
      t.skip('promtool not installed (Debian package prometheus)');
      return;
    }
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
  });

  test('/alerts lists every rule with state, since, value and threshold; ?state filters', async () => {
    const res = await get('/alerts');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { alerts: Array<Record<string, unknown>>; firing: number; evaluationIntervalMs: number };
    const names = body.alerts.map((a) => a.name).sort();
    assert.deepEqual(names, [
      'applier_lag',
      'applier_stalled',
      'circuit_breaker_open',
      'clickhouse_replica_columns_behind',
      'clickhouse_replica_delay',
      'clickhouse_replica_down',
      'clickhouse_replica_readonly',
      'clickhouse_replication_queue',
      'clickhouse_zookeeper_unreachable',
      'disk_free_low',
      'http_5xx_ratio',
      'wal_lag',
      'worker_down',
    ]);
    for (const a of body.alerts) {
      assert.ok(['inactive', 'pending', 'firing'].includes(a.state as string));
      assert.ok(!Number.isNaN(Date.parse(a.since as string)));
      assert.equal(typeof a.threshold, 'number');
      assert.ok(a.value === null || typeof a.value === 'number');
    }
    const disk = body.alerts.find((a) => a.name === 'disk_free_low')!;
    assert.ok(typeof disk.value === 'number' && disk.value > 0 && disk.value <= 1, 'free disk ratio of DATA_DIR is measured');
    assert.equal(body.alerts.find((a) => a.name === 'worker_down')!.value, null, 'no worker metrics yet: no data, inactive');
    assert.equal(body.evaluationIntervalMs, 200);
    const firing = (await (await get('/alerts?state=firing')).json()) as { alerts: unknown[] };
    assert.equal(firing.alerts.length, body.firing);
    assert.equal((await get('/alerts?state=bogus')).status, 400);
    assert.equal((await get('/alerts', {})).status, 401, 'alerts need a credential');
  });

  test('/logs filters by level, service, request id and time, and never shows a secret', async () => {
    const marker = `hunter2-${Date.now()}`;
    const start = Date.now();
    // A failed login (the password must not be logged), through the gateway and through the dashboard.
    const bad = await fetch(plane.url('auth-gateway', '/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'redact-login-1' },
      body: JSON.stringify({ username: TEST_ADMIN_USERNAME, password: marker }),
    });
    assert.equal(bad.status, 401);
    const viaDashboard = await fetch(plane.url('monitoring', '/dashboard/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'redact-login-2' },
      body: JSON.stringify({ username: TEST_ADMIN_USERNAME, password: marker }),
    });
    assert.equal(viaDashboard.status, 401);
    // A bearer credential on a request that fails and one that succeeds.
    const token = admin.authorization!.slice('Bearer '.length);
    await fetch(plane.url('tenant-node', '/data?data_id=x'), { headers: { ...admin, 'x-tenant-id': 'cap-1', 'x-request-id': 'redact-bearer-1' } });
    await fetch(plane.url('tenant-node', '/nope'), { headers: { ...admin, 'x-request-id': 'redact-bearer-2' } });
    await fetch(plane.url('tenant-node', '/data'), { headers: { authorization: `Bearer ${marker}`, 'x-tenant-id': 'cap-1', 'x-request-id': 'redact-bearer-3' } });

    const all = await (await get('/logs?limit=2000&level=trace')).text();
    assert.ok(!all.includes(marker), 'no password or forged token in /logs');
    assert.ok(!all.includes(token), 'no access token in /logs');
    assert.ok(!all.includes(TEST_ADMIN_PASSWORD), 'no admin password in /logs');

    const byRequest = (await (await get('/logs?requestId=redact-login-2')).json()) as { entries: Array<{ requestId: string; service: string; status?: number }> };
    assert.ok(byRequest.entries.length >= 1 && byRequest.entries.every((e) => e.requestId === 'redact-login-2'));
    assert.ok(byRequest.entries.some((e) => e.service === 'monitoring' && e.status === 401));

    const warnings = (await (await get(`/logs?level=warn&service=tenant-node&since=${start}`)).json()) as { entries: Array<{ level: number; service: string; time: number }> };
    assert.ok(warnings.entries.length >= 1, 'the 404 and 401 of the tenant node are warnings');
    assert.ok(warnings.entries.every((e) => e.level >= 40 && e.service === 'tenant-node' && e.time >= start));

    const iso = new Date(start).toISOString();
    const sinceIso = (await (await get(`/logs?since=${encodeURIComponent(iso)}&limit=2000`)).json()) as { entries: Array<{ time: number }> };
    assert.ok(sinceIso.entries.length >= 3 && sinceIso.entries.every((e) => e.time >= start), 'ISO-8601 since');
    const untilBefore = (await (await get(`/logs?until=${start - 1}&limit=2000`)).json()) as { entries: Array<{ time: number }> };
    assert.ok(untilBefore.entries.every((e) => e.time < start), 'until');
    assert.equal((await get('/logs?since=yesterday')).status, 400);
  });

  test('the dashboard page and assets are public, static and locked down', async () => {
    const page = await fetch(plane.url('monitoring', '/dashboard'));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<form id="login-form"/);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/, 'no external URL: works without network');
    for (const [asset, type] of [
      ['dashboard.js', /javascript/],
      ['dashboard.css', /text\/css/],
    ] as const) {
      const res = await fetch(plane.url('monitoring', `/dashboard/assets/${asset}`));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', type);
      assert.doesNotMatch(await res.text(), /https?:\/\/(?!www\.w3\.org)/);
    }
    assert.equal((await fetch(plane.url('monitoring', '/dashboard/assets/..%2F..%2Findex.ts'))).status, 404);
    assert.equal((await fetch(plane.url('monitoring', '/dashboard/assets/routes.ts'))).status, 404);
  });

  test('dashboard login goes through the auth gateway; the snapshot needs its token', async () => {
    assert.equal((await get('/dashboard/api/snapshot', {})).status, 401);
    const wrong = await fetch(plane.url('monitoring', '/dashboard/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: TEST_ADMIN_USERNAME, password: 'not-the-password' }),
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'unauthorized');
    const malformed = await fetch(plane.url('monitoring', '/dashboard/login'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":1}' });
    assert.equal(malformed.status, 400);

    const ok = await fetch(plane.url('monitoring', '/dashboard/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: TEST_ADMIN_USERNAME, password: TEST_ADMIN_PASSWORD }),
    });
    assert.equal(ok.status, 200);
    // The same field names as POST /auth/login.
    const { access_token, token_type } = (await ok.json()) as { access_token: string; token_type: string };
    assert.equal(token_type, 'Bearer');
    const res = await get('/dashboard/api/snapshot?points=10&logs=5', { authorization: `Bearer ${access_token}` });
    assert.equal(res.status, 200);
    const snap = (await res.json()) as {
      services: Array<{ service: string; status: string; ready: boolean }>;
      workers: unknown[];
      counters: Record<string, number | null>;
      charts: Array<{ id: string; times: number[]; series: Array<{ label: string; values: unknown[] }> }>;
      tenants: Array<{ tenant: string; rows: number }>;
      alerts: unknown[];
      logs: unknown[];
    };
    assert.equal(snap.services.length, 7);
    assert.ok(snap.services.every((s) => s.status === 'ok' && s.ready));
    assert.deepEqual(snap.workers, []);
    assert.deepEqual(
      snap.charts.map((c) => c.id),
      ['ingest-rate', 'query-latency', 'wal-lag', 'applier-lag', 'http-rate', 'wal-fsync'],
    );
    for (const c of snap.charts) for (const s of c.series) assert.equal(s.values.length, c.times.length);
    assert.ok((snap.counters.rowsAcknowledged ?? 0) >= MAX_TENANT_LABELS + 5);
    assert.equal(snap.alerts.length, 13);
    assert.ok(snap.logs.length <= 5);
    assert.equal((await get('/dashboard/api/snapshot?points=0')).status, 400);
  });

  test('dashboard sessions refresh (rotating), log out, and are for admins only', async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(plane.url('monitoring', path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const login = (await (await post('/dashboard/login', { username: TEST_ADMIN_USERNAME, password: TEST_ADMIN_PASSWORD })).json()) as {
      access_token: string;
      refresh_token: string;
      expires_in: number;
    };
    assert.ok(login.refresh_token && login.expires_in > 0);
    // The old camelCase name is refused like any unknown field: one name everywhere.
    assert.equal((await post('/dashboard/refresh', { refreshToken: login.refresh_token })).status, 400);
    const refreshed = await post('/dashboard/refresh', { refresh_token: login.refresh_token });
    assert.equal(refreshed.status, 200);
    const next = (await refreshed.json()) as { access_token: string; refresh_token: string };
    assert.notEqual(next.refresh_token, login.refresh_token, 'refresh tokens rotate');
    assert.equal((await get('/alerts', { authorization: `Bearer ${next.access_token}` })).status, 200);
    assert.equal((await post('/dashboard/refresh', { refresh_token: login.refresh_token })).status, 401, 'a spent refresh token is refused');

    const fresh = (await (await post('/dashboard/login', { username: TEST_ADMIN_USERNAME, password: TEST_ADMIN_PASSWORD })).json()) as { access_token: string };
    const out = await post('/dashboard/logout', {}, { authorization: `Bearer ${fresh.access_token}` });
    assert.equal(out.status, 200);
    assert.equal((await get('/alerts', { authorization: `Bearer ${fresh.access_token}` })).status, 401, 'logout revokes the token at once');
    assert.equal((await post('/dashboard/logout', {})).status, 401);

    const tenant = await fetch(plane.url('auth-gateway', '/admin/tenants'), {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'dash-readers' }),
    });
    assert.equal(tenant.status, 201, await tenant.text());
    const user = await fetch(plane.url('auth-gateway', '/admin/users'), {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dash-reader', password: 'reader-password-1', role: 'reader', tenant: 'dash-readers' }),
    });
    assert.equal(user.status, 201, await user.text());
    const reader = await post('/dashboard/login', { username: 'dash-reader', password: 'reader-password-1' });
    assert.equal(reader.status, 403);
    assert.match(((await reader.json()) as { error: { message: string } }).error.message, /admin/);
  });
});
