// Every route of all seven services, called by every kind of principal, against
// the real process: anonymous, admin, operator, a writer and a reader of
// tenant A (acting on A and on B), a member of A (reader) and B (writer)
// acting on each, and a service key without and with a leased job of tenant A.
// Each answer's class (allowed / 401 / 403) must match the table below, which
// has one row per route: a route without a row fails the test, so a new route
// cannot ship without saying who may call it. The table's policy must also be
// the one the route declares in /openapi.json, and every admin mutation must
// declare its audit action.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, login, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';

const SERVICES = ['auth-gateway', 'tenant-node', 'operation-node', 'cbo-engine', 'metadata-catalog', 'monitoring', 'query-interpreter'];
const A = 'roles-a';
const B = 'roles-b';
const PASSWORD = 'roles-test-password-1';

const PRINCIPALS = ['anonymous', 'admin', 'operator', 'writerA@A', 'writerA@B', 'readerA@A', 'readerA@B', 'member@A', 'member@B', 'service', 'service+lease'] as const;
type PrincipalName = (typeof PRINCIPALS)[number];
/** ok: allowed through the policy (any answer but 401/403/5xx); 401; 403. */
type Outcome = 'ok' | 401 | 403;

/** Who may call a route, as a named profile: its declared policy and the outcome for each principal. */
const PROFILES = {
  public: { policy: 'public', allowed: PRINCIPALS },
  authenticated: { policy: 'authenticated', allowed: PRINCIPALS.filter((p) => p !== 'anonymous') },
  client: { policy: 'client', allowed: PRINCIPALS.filter((p) => p !== 'anonymous' && !p.startsWith('service')) },
  tenantRead: { policy: 'tenant:read', allowed: ['admin', 'writerA@A', 'readerA@A', 'member@A', 'member@B'] },
  tenantWrite: { policy: 'tenant:write', allowed: ['admin', 'writerA@A', 'member@B'] },
  queries: { policy: 'tenant:queries', allowed: ['admin', 'operator', 'writerA@A', 'readerA@A', 'member@A', 'member@B'] },
  operator: { policy: 'operator', allowed: ['admin', 'operator'] },
  scrape: { policy: 'scrape', allowed: ['admin', 'operator', 'service', 'service+lease'] },
  admin: { policy: 'admin', allowed: ['admin'] },
  service: { policy: 'service', allowed: ['admin', 'service', 'service+lease'] },
  leasedService: { policy: 'service', lease: 'retention-sweep', allowed: ['admin', 'service+lease'] },
} satisfies Record<string, { policy: string; lease?: string; allowed: readonly PrincipalName[] }>;
type Profile = keyof typeof PROFILES;

interface Row {
  profile: Profile;
  /** Outcomes that differ from the profile's (e.g. a public route that still wants a bearer). */
  except?: Partial<Record<PrincipalName, Outcome>>;
  /** The call ends the caller's session: users get a throwaway login for it. */
  endsSession?: boolean;
}

// One row per route of every service (GET /health, /ready and /openapi.json are not listed by the services).
const EXPECTED: Record<string, Row> = {
  // auth gateway
  'POST /auth/login': { profile: 'public' },
  'POST /auth/refresh': { profile: 'public' },
  'POST /auth/validate': { profile: 'authenticated' },
  'POST /auth/logout': { profile: 'authenticated', endsSession: true },
  'POST /auth/password': { profile: 'authenticated' },
  'GET /auth/me': { profile: 'authenticated' },
  'GET /auth/sessions': { profile: 'authenticated' },
  'DELETE /auth/sessions/:id': { profile: 'authenticated' },
  'POST /admin/tenants': { profile: 'admin' },
  'GET /admin/tenants': { profile: 'admin' },
  'GET /admin/tenants/:id': { profile: 'admin' },
  'PATCH /admin/tenants/:id': { profile: 'admin' },
  'POST /admin/tenants/:id/disable': { profile: 'admin' },
  'DELETE /admin/tenants/:id': { profile: 'admin' },
  'POST /admin/users': { profile: 'admin' },
  'GET /admin/users': { profile: 'admin' },
  'PATCH /admin/users/:username': { profile: 'admin' },
  'POST /admin/users/:username/disable': { profile: 'admin' },
  'POST /admin/api-keys': { profile: 'admin' },
  'POST /admin/service-credentials': { profile: 'admin' },
  'GET /admin/api-keys': { profile: 'admin' },
  'DELETE /admin/api-keys/:id': { profile: 'admin' },
  'GET /admin/audit': { profile: 'operator' },
  'GET /admin/approvals': { profile: 'operator' },
  'GET /admin/approvals/:id': { profile: 'operator' },
  'POST /admin/approvals/:id/approve': { profile: 'admin' },
  'POST /admin/approvals/:id/reject': { profile: 'admin' },
  // tenant node
  'POST /data': { profile: 'tenantWrite' },
  'POST /data/store': { profile: 'tenantWrite' },
  'GET /data': { profile: 'tenantRead' },
  'GET /data/retrieve': { profile: 'tenantRead' },
  'GET /data/stats': { profile: 'tenantRead' },
  'POST /data/execute': { profile: 'tenantRead' },
  'POST /data/retention/sweep': { profile: 'leasedService' },
  // operation node, with the worker and job callbacks
  'POST /query/execute': { profile: 'tenantRead' },
  'GET /query/plan': { profile: 'tenantRead' },
  'POST /query/plan': { profile: 'tenantRead' },
  'GET /query/status': { profile: 'queries' },
  'GET /query/running': { profile: 'queries' },
  'DELETE /query/:id': { profile: 'queries' },
  'GET /query/history': { profile: 'queries' },
  'GET /nodes/status': { profile: 'operator' },
  'POST /workers/register': { profile: 'service' },
  'POST /workers/:id/heartbeat': { profile: 'service' },
  'DELETE /workers/:id': { profile: 'service' },
  'GET /workers': { profile: 'operator' },
  'POST /jobs': { profile: 'admin' },
  'GET /jobs': { profile: 'admin' },
  'GET /jobs/:id': { profile: 'admin' },
  'POST /jobs/lease': { profile: 'service' },
  'POST /jobs/:id/renew': { profile: 'service' },
  'POST /jobs/:id/complete': { profile: 'service' },
  'POST /jobs/:id/fail': { profile: 'service' },
  'GET /jobs/:id/sample': { profile: 'service' },
  // CBO engine
  'POST /optimize/query': { profile: 'tenantRead' },
  'GET /optimize/stats': { profile: 'client' },
  'GET /optimize/config': { profile: 'client' },
  'PUT /optimize/config': { profile: 'admin' },
  // metadata catalog
  'GET /metadata/tables': { profile: 'tenantRead' },
  'POST /metadata/partitions': { profile: 'tenantRead' },
  'GET /metadata/indexes': { profile: 'tenantRead' },
  'GET /metadata/stats': { profile: 'tenantRead' },
  // monitoring
  'GET /metrics': { profile: 'scrape' },
  'GET /alerts': { profile: 'operator' },
  'GET /alerts/rules.yml': { profile: 'scrape' },
  'GET /logs': { profile: 'operator' },
  'GET /dashboard': { profile: 'public' },
  'GET /dashboard/assets/:file': { profile: 'public' },
  'GET /dashboard/api/snapshot': { profile: 'operator' },
  'GET /dashboard/api/queries': { profile: 'operator' },
  'DELETE /dashboard/api/queries/:id': { profile: 'operator' },
  'GET /dashboard/api/history': { profile: 'operator' },
  'POST /dashboard/login': { profile: 'public' },
  'POST /dashboard/refresh': { profile: 'public' },
  // Signing the page out revokes the bearer's session: without one there is nothing to end.
  'POST /dashboard/logout': { profile: 'public', except: { anonymous: 401 }, endsSession: true },
  // query interpreter
  'POST /parse/sql': { profile: 'client' },
  'POST /parse/dsl': { profile: 'client' },
  'POST /validate/query': { profile: 'tenantRead' },
  'POST /transform/plan': { profile: 'tenantRead' },
};

interface RouteDoc {
  service: string;
  method: string;
  path: string;
  auth: string;
  lease?: string;
  audit?: string;
}

function expected(row: Row, who: PrincipalName): Outcome {
  const override = row.except?.[who];
  if (override !== undefined) return override;
  const profile: { allowed: readonly PrincipalName[] } = PROFILES[row.profile];
  if (profile.allowed.includes(who)) return 'ok';
  return who === 'anonymous' ? 401 : 403;
}

/** A concrete path: ids that exist nowhere (a well-formed UUID where a route wants one). */
function concrete(path: string): string {
  return path.replace(/:id/g, '00000000-0000-4000-8000-000000000000').replace(/:([A-Za-z_]+)/g, 'nobody-here');
}

describe('every route × every role', () => {
  let plane: RunningPlane;
  let admin: Record<string, string>;
  const bearer: Partial<Record<PrincipalName, string>> = {};
  const users: Partial<Record<PrincipalName, string>> = {};
  let leaseHeaders: Record<string, string> = {};
  let routes: RouteDoc[] = [];

  const call = async (method: string, url: string, headers: Record<string, string>, body?: string) => {
    const res = await fetch(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body });
    const text = await res.text();
    return { status: res.status, text };
  };
  const adminCall = async (method: string, service: string, path: string, body?: unknown) => {
    const r = await call(method, plane.url(service, path), admin, body === undefined ? undefined : JSON.stringify(body));
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return JSON.parse(r.text || '{}') as Record<string, unknown>;
  };

  before(async () => {
    plane = await startPlane({ env: { LOG_LEVEL: 'warn' } });
    admin = await adminHeaders(plane);
    await adminCall('POST', 'auth-gateway', '/admin/tenants', { id: A, retentionDays: 30 });
    await adminCall('POST', 'auth-gateway', '/admin/tenants', { id: B });
    const people: Array<[PrincipalName, string, Record<string, unknown>]> = [
      ['operator', 'roles-operator', { role: 'operator' }],
      ['writerA@A', 'roles-writer', { role: 'writer', tenant: A }],
      ['readerA@A', 'roles-reader', { role: 'reader', tenant: A }],
      ['member@A', 'roles-member', { memberships: [{ tenant: A, role: 'reader' }, { tenant: B, role: 'writer' }] }],
    ];
    for (const [who, username, role] of people) {
      await adminCall('POST', 'auth-gateway', '/admin/users', { username, password: PASSWORD, ...role });
      users[who] = username;
      bearer[who] = (await login(plane, username, PASSWORD)).access_token;
    }
    bearer['writerA@B'] = bearer['writerA@A'];
    bearer['readerA@B'] = bearer['readerA@A'];
    bearer['member@B'] = bearer['member@A'];
    users['writerA@B'] = users['writerA@A'];
    users['readerA@B'] = users['readerA@A'];
    users['member@B'] = users['member@A'];
    bearer.service = String((await adminCall('POST', 'auth-gateway', '/admin/service-credentials', { name: 'roles: no lease' })).key);
    const leased = String((await adminCall('POST', 'auth-gateway', '/admin/service-credentials', { name: 'roles: leased' })).key);
    bearer['service+lease'] = leased;
    // The leased key registers a worker and leases a retention-sweep job of tenant A.
    const asWorker = { authorization: `Bearer ${leased}` };
    const reg = await call('POST', plane.url('operation-node', '/workers/register'), asWorker, JSON.stringify({ id: 'roles-worker', service: 'tenant-node', url: 'http://127.0.0.1:9', jobTypes: ['retention-sweep'] }));
    assert.equal(reg.status, 201, reg.text);
    await adminCall('POST', 'operation-node', '/jobs', { type: 'retention-sweep', payload: { tenant: A, before: Date.now() - 40 * 86_400_000 } });
    const lease = await call('POST', plane.url('operation-node', '/jobs/lease'), asWorker, JSON.stringify({ workerId: 'roles-worker', leaseMs: 3_600_000 }));
    assert.equal(lease.status, 200, lease.text);
    const { job, leaseId } = JSON.parse(lease.text) as { job: { id: string }; leaseId: string };
    leaseHeaders = { 'x-job-id': job.id, 'x-job-lease': leaseId };

    for (const service of SERVICES) {
      const doc = JSON.parse((await call('GET', plane.url(service, '/openapi.json'), {})).text) as {
        paths: Record<string, Record<string, { 'x-auth': string; 'x-lease'?: string; 'x-audit'?: string }>>;
      };
      for (const [p, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          routes.push({ service, method: method.toUpperCase(), path: p.replace(/\{([A-Za-z_]+)\}/g, ':$1'), auth: op['x-auth'], lease: op['x-lease'], audit: op['x-audit'] });
        }
      }
    }
    routes = routes.sort((a, b) => `${a.service} ${a.path}`.localeCompare(`${b.service} ${b.path}`));
  });
  after(async () => plane?.cleanup());

  test('the table has exactly one row per route, with the policy the route declares', () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    const missing = keys.filter((k) => !(k in EXPECTED));
    assert.deepEqual(missing, [], `routes without a row in EXPECTED (add them): ${missing.join(', ')}`);
    const stale = Object.keys(EXPECTED).filter((k) => !keys.includes(k));
    assert.deepEqual(stale, [], `rows for routes that do not exist: ${stale.join(', ')}`);
    assert.equal(new Set(keys).size, keys.length, 'one route per method and path across the services');
    for (const r of routes) {
      const profile: { policy: string; lease?: string } = PROFILES[EXPECTED[`${r.method} ${r.path}`]!.profile];
      assert.equal(r.auth, profile.policy, `${r.method} ${r.path} declares ${r.auth}`);
      assert.equal(r.lease, profile.lease, `${r.method} ${r.path} lease`);
    }
  });

  test('every admin mutation declares the audit action it records', () => {
    const unaudited = routes.filter((r) => r.auth === 'admin' && r.method !== 'GET' && !r.audit).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(unaudited, []);
    assert.equal(routes.find((r) => r.path === '/data/retention/sweep')?.audit, 'retention.sweep');
  });

  test('each principal gets the answer class its row says, on every route', async () => {
    const mismatches: string[] = [];
    for (const r of routes) {
      const row = EXPECTED[`${r.method} ${r.path}`]!;
      for (const who of PRINCIPALS) {
        const headers: Record<string, string> = {};
        let token = bearer[who];
        // Calls that end the caller's session get a session of their own.
        if (row.endsSession && users[who]) token = (await login(plane, users[who]!, PASSWORD)).access_token;
        if (who === 'admin') token = row.endsSession ? (await login(plane, 'admin', 'test-admin-password')).access_token : admin.authorization!.slice('Bearer '.length);
        if (token) headers.authorization = `Bearer ${token}`;
        headers['x-tenant-id'] = who.endsWith('@B') ? B : A;
        if (who === 'service+lease') Object.assign(headers, leaseHeaders);
        const { status, text } = await call(r.method, plane.url(r.service, concrete(r.path)), headers, r.method === 'GET' || r.method === 'DELETE' ? undefined : '{}');
        const want = expected(row, who);
        const got: Outcome | number = status === 401 || status === 403 ? status : status < 500 ? 'ok' : status;
        if (got !== want) mismatches.push(`${who} ${r.method} ${r.path}: expected ${want}, got ${status} ${text.slice(0, 160)}`);
        if (status === 401 || status === 403) {
          const err = (JSON.parse(text) as { error?: { code?: string } }).error;
          if (err?.code !== (status === 401 ? 'unauthorized' : 'forbidden')) mismatches.push(`${who} ${r.method} ${r.path}: ${status} without its JSON error: ${text.slice(0, 160)}`);
        }
      }
    }
    assert.deepEqual(mismatches, [], `${mismatches.length} answers differ from the table:\n${mismatches.join('\n')}`);
  });

  test('the walk changed nothing it was refused: the process is up and tenant B got no write', async () => {
    for (const service of SERVICES) assert.equal((await call('GET', plane.url(service, '/health'), {})).status, 200);
    const stats = await call('GET', plane.url('tenant-node', '/data/stats'), { ...admin, 'x-tenant-id': B });
    assert.equal((JSON.parse(stats.text) as { pendingRows: number; rows: number }).pendingRows, 0);
  });
});
