// Hostile clients against the real process: no credential, garbage, forged
// and tampered tokens (alg none, HS/RS confusion, wrong secret, edited claims),
// expired and not-yet-valid tokens, revoked sessions, reused refresh tokens, a
// reader writing, and a credential of tenant A reaching for tenant B on every
// tenant-scoped route of every service. Each must get the right JSON error,
// nothing may be written, and the process must stay up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { ROUTE_AUTHS } from '../../src/platform/http/route.js';
import {
  adminHeaders,
  login,
  startPlane,
  tenantKeyHeaders,
  TEST_JWT_SECRET,
  type RunningPlane,
} from '../helpers/control-plane-process.js';

const A = 'hostile-a';
const B = 'hostile-b';
const SERVICES = ['auth-gateway', 'tenant-node', 'operation-node', 'cbo-engine', 'metadata-catalog', 'monitoring', 'query-interpreter'];
const USER_PASSWORD = 'user-password-never-logged-7f3a';
const WRONG_PASSWORD = 'wrong-password-never-logged-9c1e';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

interface RouteInfo {
  service: string;
  method: string;
  path: string;
  auth: string;
}

async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const headers = { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers };
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON: the assertions below say so */
  }
  return { status: res.status, headers: res.headers, body };
}

function expectError(a: Answer, status: number, code: string, what: string) {
  assert.equal(a.status, status, `${what}: status ${a.status}, body ${JSON.stringify(a.body)}`);
  const e = a.body.error as Record<string, unknown> | undefined;
  assert.ok(e, `${what}: JSON error body, got ${JSON.stringify(a.body)}`);
  assert.equal(e.code, code, what);
  assert.equal(typeof e.message, 'string');
  assert.equal(typeof e.requestId, 'string');
}

function b64(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

/** A concrete path for a route template, and a body that would be valid for the ingest routes. */
function concrete(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, 'x');
}

const INGEST = JSON.stringify({ data_id: 'hostile-write', payload: { n: 1 } });

describe('auth against hostile clients', () => {
  let plane: RunningPlane;
  let admin: Record<string, string>;
  let writerA: Record<string, string>;
  let readerA: Record<string, string>;
  let writerB: Record<string, string>;
  let routes: RouteInfo[];
  let adminSessionId: string;

  const url = (service: string, path: string) => plane.url(service, path);
  /** Tenant B's records with this data_id, read by the admin (the ground truth for "nothing written"). */
  const recordsOfB = async (dataId: string) => {
    const r = await send(url('tenant-node', `/data?data_id=${dataId}`), { headers: { ...admin, 'x-tenant-id': B } });
    assert.equal(r.status, 200);
    return r.body.records as unknown[];
  };

  before(async () => {
    plane = await startPlane({ env: { LOG_LEVEL: 'debug', LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_SECONDS: '30' } });
    admin = await adminHeaders(plane);
    writerA = (await tenantKeyHeaders(plane, A)).headers;
    readerA = (await tenantKeyHeaders(plane, A, { role: 'reader' })).headers;
    writerB = (await tenantKeyHeaders(plane, B)).headers;
    for (const [username, role] of [
      ['hostile-writer-a', 'writer'],
      ['hostile-reader-a', 'reader'],
    ]) {
      const r = await send(url('auth-gateway', '/admin/users'), {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ username, password: USER_PASSWORD, role, tenant: A }),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const seeded = await send(url('tenant-node', '/data'), { method: 'POST', headers: writerB, body: JSON.stringify({ data_id: 'b-secret', payload: { secret: 'of-b' } }) });
    assert.equal(seeded.status, 201);
    adminSessionId = String((decodeJwt(admin.authorization!.slice('Bearer '.length)) as { sid: string }).sid);

    // Every route of every service, with its declared policy, from the services' own OpenAPI documents.
    routes = [];
    for (const service of SERVICES) {
      const doc = (await send(url(service, '/openapi.json'))).body as { paths: Record<string, Record<string, { 'x-auth': string }>> };
      for (const [p, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) routes.push({ service, method: method.toUpperCase(), path: p.replace(/\{([A-Za-z_]+)\}/g, ':$1'), auth: op['x-auth'] });
      }
    }
  });
  after(async () => plane?.cleanup());

  test('every route declares a policy; only login/refresh and the dashboard shell (its own login forwarding) are public', () => {
    assert.ok(routes.length > 20, `found ${routes.length} routes`);
    for (const r of routes) assert.ok((ROUTE_AUTHS as readonly string[]).includes(r.auth), `${r.method} ${r.path}: ${r.auth}`);
    const pub = routes.filter((r) => r.auth === 'public').map((r) => `${r.method} ${r.path}`);
    for (const p of pub) assert.match(p, /^(POST \/auth\/(login|refresh)|(GET|POST) \/dashboard(\/|$))/, `unexpected public route ${p}`);
  });

  test('no credential → 401 on every non-public route of every service', async () => {
    for (const r of routes.filter((x) => x.auth !== 'public')) {
      const a = await send(url(r.service, concrete(r.path)), { method: r.method, headers: { 'x-tenant-id': A }, ...(r.method === 'GET' ? {} : { body: INGEST }) });
      expectError(a, 401, 'unauthorized', `${r.service} ${r.method} ${r.path} without credential`);
      assert.equal(a.headers.get('www-authenticate'), 'Bearer');
    }
    assert.deepEqual(await recordsOfB('hostile-write'), []);
  });

  test('garbage credentials → 401', async () => {
    const garbage = [
      'Bearer garbage',
      'Bearer a.b.c',
      'Bearer eyJhbGciOiJIUzI1NiJ9.e30.',
      'Bearer cpk_garbage',
      `Bearer cpk_0123456789abcdef_${'A'.repeat(43)}`,
      `Bearer ${'x'.repeat(6000)}`,
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'bearer  ',
      `Bearer ${admin.authorization!.slice(7)} extra`,
    ];
    for (const authorization of garbage) {
      expectError(await send(url('tenant-node', '/data'), { headers: { authorization, 'x-tenant-id': A } }), 401, 'unauthorized', authorization.slice(0, 40));
      expectError(await send(url('auth-gateway', '/admin/tenants'), { headers: { authorization } }), 401, 'unauthorized', authorization.slice(0, 40));
    }
  });

  describe('forged access tokens (claiming admin on a real session)', () => {
    const claims = () => ({ sub: 'admin', role: 'admin', sid: adminSessionId, kind: 'user', iss: 'storage-control-plane', aud: 'storage-control-plane' });
    const now = () => Math.floor(Date.now() / 1000);
    const rejected = async (token: string, what: string, message?: RegExp) => {
      for (const [service, path, headers] of [
        ['tenant-node', '/data', { 'x-tenant-id': B }],
        ['metadata-catalog', '/metadata/tables', { 'x-tenant-id': B }],
        ['auth-gateway', '/admin/tenants', {}],
        ['monitoring', '/logs', {}],
      ] as const) {
        const a = await send(url(service, path), { headers: { ...headers, authorization: `Bearer ${token}` } });
        expectError(a, 401, 'unauthorized', `${what} on ${service} ${path}`);
        if (message) assert.match(String((a.body.error as { message: string }).message), message, what);
      }
    };

    test('the same claims signed properly are accepted (the control for the cases below)', async () => {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(TEST_JWT_SECRET));
      assert.equal((await send(url('auth-gateway', '/admin/tenants'), { headers: { authorization: `Bearer ${token}` } })).status, 200);
    });

    test('alg: none → 401', async () => {
      const body = b64({ ...claims(), iat: now(), exp: now() + 300 });
      await rejected(`${b64({ alg: 'none', typ: 'JWT' })}.${body}.`, 'alg none');
      await rejected(`${b64({ alg: 'None' })}.${body}.`, 'alg None');
      await rejected(`${b64({ alg: 'HS256' })}.${body}.`, 'HS256 without signature');
    });

    test('HS/RS confusion → 401', async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      const rs = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime('5m').sign(privateKey);
      await rejected(rs, 'RS256 token');
      // The classic confusion: HS256 keyed with an RSA public key a verifier might also hold.
      const pem = await exportSPKI(publicKey);
      const confused = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(pem));
      await rejected(confused, 'HS256 keyed with a public key');
      const hs512 = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(TEST_JWT_SECRET.repeat(2)));
      await rejected(hs512, 'HS512 with the right secret (algorithm pinned)');
    });

    test('wrong secret → 401', async () => {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode('dev-only-secret-change-me-dev-only-secret'));
      await rejected(token, 'signed with the development secret');
    });

    test('wrong issuer or audience → 401', async () => {
      const key = new TextEncoder().encode(TEST_JWT_SECRET);
      await rejected(await new SignJWT({ ...claims(), iss: 'elsewhere' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key), 'issuer');
      await rejected(await new SignJWT({ ...claims(), aud: 'elsewhere' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key), 'audience');
    });

    test('tampered payload of a real token → 401', async () => {
      const real = (await login(plane, 'hostile-writer-a', USER_PASSWORD)).access_token;
      const [h, p, s] = real.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      await rejected(`${h}.${b64({ ...payload, tenant: B })}.${s}`, 'tenant changed');
      await rejected(`${h}.${b64({ ...payload, role: 'admin' })}.${s}`, 'role changed');
      await rejected(`${h}.${b64({ ...payload, exp: now() + 86_400 * 365 })}.${s}`, 'exp extended');
      await rejected(`${h}.${p}.${s.slice(0, -4)}AAAA`, 'signature edited');
      // The untouched token still works (for its own tenant only).
      assert.equal((await send(url('tenant-node', '/data/stats'), { headers: { authorization: `Bearer ${real}` } })).status, 200);
    });

    test('expired and not-yet-valid tokens → 401', async () => {
      const key = new TextEncoder().encode(TEST_JWT_SECRET);
      const expired = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now() - 3600).setExpirationTime(now() - 600).sign(key);
      await rejected(expired, 'expired', /expired/);
      const future = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setNotBefore(now() + 3600).setExpirationTime(now() + 7200).sign(key);
      await rejected(future, 'not yet valid', /not yet valid/);
      const noExp = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key);
      await rejected(noExp, 'no exp claim');
      const unknownSession = await new SignJWT({ ...claims(), sid: '00000000-0000-4000-8000-000000000000' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key);
      await rejected(unknownSession, 'unknown session', /session/);
    });
  });

  test('logout revokes the session: its access token stops working at once on every service', async () => {
    const { access_token: token, refresh_token: refresh } = await login(plane, 'hostile-reader-a', USER_PASSWORD);
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await send(url('tenant-node', '/data/stats'), { headers: auth })).status, 200);
    assert.equal((await send(url('metadata-catalog', '/metadata/stats'), { headers: auth })).status, 200);
    const out = await send(url('auth-gateway', '/auth/logout'), { method: 'POST', headers: auth });
    assert.equal(out.status, 200);
    expectError(await send(url('tenant-node', '/data/stats'), { headers: auth }), 401, 'unauthorized', 'tenant-node after logout');
    expectError(await send(url('metadata-catalog', '/metadata/stats'), { headers: auth }), 401, 'unauthorized', 'catalog after logout');
    expectError(await send(url('auth-gateway', '/auth/me'), { headers: auth }), 401, 'unauthorized', 'me after logout');
    expectError(await send(url('auth-gateway', '/auth/refresh'), { method: 'POST', body: JSON.stringify({ refresh_token: refresh }) }), 401, 'unauthorized', 'refresh after logout');
  });

  test('a reused refresh token revokes its whole family', async () => {
    const first = await login(plane, 'hostile-reader-a', USER_PASSWORD);
    const refresh = (token: string) => send(url('auth-gateway', '/auth/refresh'), { method: 'POST', body: JSON.stringify({ refresh_token: token }) });
    const second = await refresh(first.refresh_token);
    assert.equal(second.status, 200);
    const secondAccess = String(second.body.access_token);
    const secondRefresh = String(second.body.refresh_token);
    assert.notEqual(secondRefresh, first.refresh_token);
    assert.equal((await send(url('tenant-node', '/data/stats'), { headers: { authorization: `Bearer ${secondAccess}` } })).status, 200);
    // The thief replays the spent token: refused, and the legitimate holder's tokens die with it.
    expectError(await refresh(first.refresh_token), 401, 'unauthorized', 'spent refresh token');
    expectError(await refresh(secondRefresh), 401, 'unauthorized', 'newest refresh token of a revoked family');
    expectError(await send(url('tenant-node', '/data/stats'), { headers: { authorization: `Bearer ${secondAccess}` } }), 401, 'unauthorized', 'access token of a revoked family');
    expectError(await refresh('rt_garbage'), 401, 'unauthorized', 'garbage refresh token');
    expectError(await refresh(first.access_token), 401, 'unauthorized', 'access token used as refresh token');
  });

  test('a reader cannot write (API key and user), and nothing is written', async () => {
    const readerUser = { authorization: `Bearer ${(await login(plane, 'hostile-reader-a', USER_PASSWORD)).access_token}` };
    const writeRoutes = routes.filter((r) => r.auth === 'tenant:write');
    for (const w of ['POST /data', 'POST /data/store']) assert.ok(writeRoutes.some((r) => `${r.method} ${r.path}` === w), `${w} is tenant:write`);
    for (const headers of [readerA, readerUser]) {
      for (const r of writeRoutes) {
        const a = await send(url(r.service, r.path), { method: r.method, headers, body: JSON.stringify({ data_id: 'reader-write', payload: {} }) });
        expectError(a, 403, 'forbidden', `reader ${r.method} ${r.path}`);
      }
      assert.equal((await send(url('tenant-node', '/data'), { headers })).status, 200, 'a reader reads');
    }
    const check = await send(url('tenant-node', '/data?data_id=reader-write'), { headers: { ...admin, 'x-tenant-id': A } });
    assert.deepEqual(check.body.records, []);
  });

  test('a writer of tenant A cannot read or write tenant B on any tenant-scoped route', async () => {
    const tenantRoutes = routes.filter((r) => r.auth.startsWith('tenant:'));
    const names = tenantRoutes.map((r) => `${r.method} ${r.path}`);
    const expectedRoutes = [
      ...['POST /data', 'GET /data', 'POST /data/store', 'GET /data/retrieve', 'GET /data/stats', 'POST /data/execute'],
      ...['GET /metadata/tables', 'POST /metadata/partitions', 'GET /metadata/indexes', 'GET /metadata/stats'],
      ...['POST /query/execute', 'GET /query/plan', 'POST /query/plan', 'GET /query/status', 'GET /query/running', 'DELETE /query/:id'],
      ...['POST /validate/query', 'POST /transform/plan', 'POST /optimize/query'],
    ];
    for (const expected of expectedRoutes) {
      assert.ok(names.includes(expected), `${expected} is tenant-scoped (found: ${names.join(', ')})`);
    }
    const userA = { authorization: `Bearer ${(await login(plane, 'hostile-writer-a', USER_PASSWORD)).access_token}` };
    for (const cred of [writerA, userA]) {
      for (const r of tenantRoutes) {
        const a = await send(url(r.service, concrete(r.path)), {
          method: r.method,
          headers: { authorization: cred.authorization!, 'x-tenant-id': B },
          ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: r.path.startsWith('/data') ? INGEST : '{}' }),
        });
        expectError(a, 403, 'forbidden', `A → B ${r.service} ${r.method} ${r.path}`);
      }
    }
    assert.deepEqual(await recordsOfB('hostile-write'), [], 'nothing was written to B');
    // Without the header, A's credential acts for A and sees none of B's records.
    const own = await send(url('tenant-node', '/data?limit=1000'), { headers: { authorization: writerA.authorization! } });
    assert.equal(own.status, 200);
    assert.ok(!JSON.stringify(own.body).includes('b-secret'), 'B’s record is not visible to A');
    // A malformed tenant id is still a 400, never a path.
    expectError(await send(url('tenant-node', '/data'), { headers: { authorization: writerA.authorization!, 'x-tenant-id': '../hostile-b' } }), 400, 'invalid_tenant_id', 'bad tenant id');
  });

  test('tenant keys cannot use admin, operator or service routes; service keys cannot touch tenant data', async () => {
    for (const r of routes.filter((x) => ['admin', 'operator', 'scrape', 'service'].includes(x.auth))) {
      const a = await send(url(r.service, concrete(r.path)), { method: r.method, headers: writerA, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: '{}' }) });
      expectError(a, 403, 'forbidden', `writer key on ${r.service} ${r.method} ${r.path}`);
    }
    const made = await send(url('auth-gateway', '/admin/service-credentials'), { method: 'POST', headers: admin, body: JSON.stringify({ name: 'hostile worker' }) });
    assert.equal(made.status, 201);
    const service = { authorization: `Bearer ${String(made.body.key)}` };
    assert.equal((await send(url('monitoring', '/metrics'), { headers: service })).status, 200);
    expectError(await send(url('tenant-node', '/data'), { headers: { ...service, 'x-tenant-id': B } }), 403, 'forbidden', 'service key on tenant data');
    expectError(await send(url('auth-gateway', '/admin/tenants'), { headers: service }), 403, 'forbidden', 'service key on admin API');
  });

  test('revoked API keys and disabled tenants stop at once', async () => {
    const { key, headers } = await tenantKeyHeaders(plane, 'hostile-c');
    assert.equal((await send(url('tenant-node', '/data/stats'), { headers })).status, 200);
    const keys = await send(url('auth-gateway', '/admin/api-keys?tenant=hostile-c'), { headers: admin });
    const id = (keys.body.apiKeys as Array<{ id: string }>)[0]!.id;
    assert.ok(!JSON.stringify(keys.body).includes(key), 'the key is never listed');
    assert.equal((await send(url('auth-gateway', `/admin/api-keys/${id}`), { method: 'DELETE', headers: admin })).status, 200);
    expectError(await send(url('tenant-node', '/data/stats'), { headers }), 401, 'unauthorized', 'revoked key');

    const other = await tenantKeyHeaders(plane, 'hostile-d');
    assert.equal((await send(url('auth-gateway', '/admin/tenants/hostile-d/disable'), { method: 'POST', headers: admin })).status, 200);
    expectError(await send(url('tenant-node', '/data'), { method: 'POST', headers: other.headers, body: INGEST }), 403, 'forbidden', 'disabled tenant');
  });

  test('login attempts are rate limited per username: 429 with Retry-After, even for the right password', async () => {
    const attempt = (password: string) =>
      send(url('auth-gateway', '/auth/login'), { method: 'POST', body: JSON.stringify({ username: 'hostile-writer-a', password }) });
    for (let i = 0; i < 3; i++) expectError(await attempt(WRONG_PASSWORD), 401, 'unauthorized', `failure ${i + 1}`);
    const locked = await attempt(WRONG_PASSWORD);
    expectError(locked, 429, 'rate_limited', 'after the limit');
    assert.ok(Number(locked.headers.get('retry-after')) >= 1, 'Retry-After');
    expectError(await attempt(USER_PASSWORD), 429, 'rate_limited', 'right password while locked');
    // Another user from the same address is not locked out by this.
    const other = await send(url('auth-gateway', '/auth/login'), { method: 'POST', body: JSON.stringify({ username: 'hostile-reader-a', password: USER_PASSWORD }) });
    assert.equal(other.status, 200);
  });

  test('malformed login bodies are 400, unknown users 401, and the process is alive', async () => {
    expectError(await send(url('auth-gateway', '/auth/login'), { method: 'POST', body: '{"username":' }), 400, 'invalid_json', 'malformed JSON');
    expectError(await send(url('auth-gateway', '/auth/login'), { method: 'POST', body: JSON.stringify({ username: 'x' }) }), 400, 'validation_failed', 'no password');
    expectError(await send(url('auth-gateway', '/auth/login'), { method: 'POST', body: JSON.stringify({ username: 'no-such-user', password: 'x' }) }), 401, 'unauthorized', 'unknown user');
    for (const service of SERVICES) assert.equal((await send(url(service, '/health'))).status, 200);
    assert.equal(plane.child.exitCode, null);
  });

  test('refusals are counted by reason, and API keys are served from the cache', async () => {
    const res = await fetch(url('monitoring', '/metrics'), { headers: admin });
    const text = await res.text();
    for (const reason of ['missing', 'malformed', 'invalid_token', 'expired', 'not_yet_valid', 'revoked_session', 'invalid_api_key', 'forbidden']) {
      assert.match(text, new RegExp(`^auth_rejections_total\\{reason="${reason}"\\} [1-9]`, 'm'), reason);
    }
    assert.match(text, /^auth_logins_total\{outcome="locked"\} [1-9]/m);
    assert.match(text, /^auth_refreshes_total\{outcome="reused"\} [1-9]/m);
    const hits = Number(/^auth_api_key_checks_total\{cache="hit"\} (\d+)/m.exec(text)?.[1] ?? 0);
    const misses = Number(/^auth_api_key_checks_total\{cache="miss"\} (\d+)/m.exec(text)?.[1] ?? 0);
    assert.ok(hits > misses, `cache hits ${hits} > misses ${misses}`);
  });

  test('no password, API key or token ever reaches the logs', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const logs = plane.logs();
    assert.match(logs, /login failed/, 'failed logins are logged');
    for (const secret of [USER_PASSWORD, WRONG_PASSWORD, writerA.authorization!.slice(7), admin.authorization!.slice(7), 'test-admin-password']) {
      assert.ok(!logs.includes(secret), `a secret leaked into the logs: ${secret.slice(0, 12)}…`);
    }
  });
});
