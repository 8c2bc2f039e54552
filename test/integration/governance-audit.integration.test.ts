// The audit log against the real process: admin actions, password changes,
// service-credential minting, login lockouts, query cancels by someone other
// than the owner and refused privileged attempts are recorded (time,
// principal, role, tenant, action, target, outcome, request id; never a
// secret); GET /admin/audit filters and pages; unknown roles are refused and
// change nothing; and an acknowledged admin action's entry survives kill -9.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, login, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';
import { send } from '../helpers/http-answer.js';
import type { AuditEntry } from '../../src/auth/governance/audit-log.js';

/** As GET /admin/audit answers it (JSON: details as plain objects). */
type Entry = AuditEntry;

async function auditOf(plane: RunningPlane, headers: Record<string, string>, query: string): Promise<Entry[]> {
  const r = await send(plane.url('auth-gateway', `/admin/audit?${query}`), { headers });
  assert.equal(r.status, 200, r.text);
  return r.body.entries as Entry[];
}

const PASSWORD = 'audit-user-password-51c2';
const NEW_PASSWORD = 'audit-user-password-new-77ab';
const WRONG = 'audit-wrong-password-90fe';

describe('audit log', () => {
  let plane: RunningPlane;
  let admin: Record<string, string>;
  let operator: Record<string, string>;
  let writer: { key: string; headers: Record<string, string> };

  before(async () => {
    plane = await startPlane({ env: { LOG_LEVEL: 'warn', LOGIN_MAX_FAILURES: '2', LOGIN_LOCKOUT_SECONDS: '30' } });
    admin = await adminHeaders(plane);
    writer = await tenantKeyHeaders(plane, 'audit-a');
    const made = await send(plane.url('auth-gateway', '/admin/users'), { method: 'POST', headers: admin, body: { username: 'audit-operator', password: PASSWORD, role: 'operator' } });
    assert.equal(made.status, 201, made.text);
    operator = { authorization: `Bearer ${(await login(plane, 'audit-operator', PASSWORD)).access_token}` };
  });
  after(async () => plane?.cleanup());

  test('an admin action is recorded with who, role, tenant, target, outcome and the request id', async () => {
    const t0 = Date.now();
    const r = await send(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: { ...admin, 'x-request-id': 'audit-req-create-1' }, body: { id: 'audit-b', retentionDays: 7 } });
    assert.equal(r.status, 201, r.text);
    const [e] = await auditOf(plane, admin, 'action=admin.tenants.create&tenant=audit-b');
    assert.ok(e, 'the creation is in the audit log');
    assert.equal(e.principal, 'user:admin');
    assert.equal(e.role, 'admin');
    assert.equal(e.tenant, 'audit-b');
    assert.equal(e.target, 'tenant:audit-b');
    assert.equal(e.outcome, 'success');
    assert.equal(e.requestId, 'audit-req-create-1');
    assert.ok(e.atMs >= t0 - 1000 && Date.parse(e.at) === e.atMs);
    // A refused creation (it exists) is recorded too.
    assert.equal((await send(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: admin, body: { id: 'audit-b' } })).status, 409);
    const again = await auditOf(plane, admin, 'action=admin.tenants.create&tenant=audit-b');
    assert.deepEqual(again.map((x) => x.outcome), ['rejected', 'success']);
  });

  test('user, password, API-key and service-credential changes are recorded without any secret', async () => {
    const created = await send(plane.url('auth-gateway', '/admin/users'), { method: 'POST', headers: admin, body: { username: 'audit-user', password: PASSWORD, memberships: [{ tenant: 'audit-a', role: 'writer' }, { tenant: 'audit-b', role: 'reader' }] } });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual((created.body as { tenants: unknown }).tenants, { 'audit-a': 'writer', 'audit-b': 'reader' });
    const token = (await login(plane, 'audit-user', PASSWORD)).access_token;
    const changed = await send(plane.url('auth-gateway', '/auth/password'), { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } });
    assert.equal(changed.status, 200, changed.text);
    const reset = await send(plane.url('auth-gateway', '/admin/users/audit-user'), { method: 'PATCH', headers: admin, body: { password: PASSWORD, memberships: [{ tenant: 'audit-a', role: 'reader' }] } });
    assert.equal(reset.status, 200, reset.text);
    const minted = await send(plane.url('auth-gateway', '/admin/service-credentials'), { method: 'POST', headers: admin, body: { name: 'audit worker' } });
    assert.equal(minted.status, 201);
    const key = await send(plane.url('auth-gateway', '/admin/api-keys'), { method: 'POST', headers: admin, body: { name: 'audit reader', tenant: 'audit-a', role: 'reader' } });
    const revoked = await send(plane.url('auth-gateway', `/admin/api-keys/${String(key.body.id)}`), { method: 'DELETE', headers: admin });
    assert.equal(revoked.status, 200);

    const all = await send(plane.url('auth-gateway', '/admin/audit?limit=1000'), { headers: admin });
    const entries = all.body.entries as Entry[];
    const find = (action: string) => entries.find((e) => e.action === action);
    assert.equal(find('admin.users.create')?.target, 'user:audit-user');
    assert.equal(find('admin.users.create')?.details?.assigned, 'audit-a:writer,audit-b:reader');
    assert.equal(find('auth.password.change')?.principal, 'user:audit-user');
    assert.equal(find('auth.password.change')?.outcome, 'success');
    assert.deepEqual(find('admin.users.update')?.details, { passwordReset: true, assigned: 'audit-a:reader' });
    assert.equal(find('admin.serviceCredentials.create')?.target, `apiKey:${String(minted.body.id)}`);
    assert.equal(find('admin.apiKeys.revoke')?.target, `apiKey:${String(key.body.id)}`);
    assert.equal(find('admin.apiKeys.revoke')?.tenant, 'audit-a');
    for (const secret of [PASSWORD, NEW_PASSWORD, String(minted.body.key), String(key.body.key), token]) {
      assert.ok(!all.text.includes(secret), `a secret reached the audit log: ${secret.slice(0, 10)}…`);
    }
  });

  test('unknown roles and bad memberships are 400 and create nothing', async () => {
    for (const body of [
      { username: 'audit-bad', password: PASSWORD, role: 'superuser' },
      { username: 'audit-bad', password: PASSWORD, role: 'operator', tenant: 'audit-a' },
      { username: 'audit-bad', password: PASSWORD, memberships: [{ tenant: 'audit-a', role: 'owner' }] },
      { username: 'audit-bad', password: PASSWORD, memberships: [{ tenant: 'audit-a', role: 'reader' }, { tenant: 'audit-a', role: 'writer' }] },
      { username: 'audit-bad', password: PASSWORD },
    ]) {
      const r = await send(plane.url('auth-gateway', '/admin/users'), { method: 'POST', headers: admin, body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal((r.body.error as { code: string }).code, 'validation_failed');
    }
    const missingTenant = await send(plane.url('auth-gateway', '/admin/users'), { method: 'POST', headers: admin, body: { username: 'audit-bad', password: PASSWORD, memberships: [{ tenant: 'no-such-tenant', role: 'reader' }] } });
    assert.equal(missingTenant.status, 404);
    assert.equal((await send(plane.url('auth-gateway', '/admin/api-keys'), { method: 'POST', headers: admin, body: { name: 'x', role: 'operator' } })).status, 400);
    assert.equal((await send(plane.url('auth-gateway', '/admin/users/audit-user'), { method: 'PATCH', headers: admin, body: { role: 'root' } })).status, 400);
    const users = (await send(plane.url('auth-gateway', '/admin/users'), { headers: admin })).body.users as Array<{ username: string }>;
    assert.ok(!users.some((u) => u.username === 'audit-bad'));
  });

  test('refused privileged attempts are recorded; operators read the log, tenant credentials may not', async () => {
    const refused = await send(plane.url('auth-gateway', '/admin/tenants'), { headers: writer.headers });
    assert.equal(refused.status, 403);
    assert.equal((await send(plane.url('auth-gateway', '/admin/audit'), { headers: writer.headers })).status, 403);
    assert.equal((await send(plane.url('monitoring', '/logs'), { headers: operator })).status, 200);
    assert.equal((await send(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: operator, body: { id: 'audit-op' } })).status, 403);
    const denied = await auditOf(plane, operator, 'action=access.denied&limit=100');
    const byWriter = denied.filter((e) => e.principal.startsWith('apiKey:') && e.target === 'GET /admin/tenants');
    assert.equal(byWriter.length, 1, JSON.stringify(denied));
    assert.equal(byWriter[0]!.outcome, 'denied');
    assert.equal(byWriter[0]!.role, 'writer');
    assert.equal(byWriter[0]!.tenant, 'audit-a');
    // An audited route records its own refusal under its own action.
    const byOperator = await auditOf(plane, operator, 'action=admin.tenants.create&principal=user:audit-operator');
    assert.equal(byOperator[0]?.outcome, 'denied');
  });

  test('a login lockout is recorded once, with the username and address and never the password', async () => {
    const attempt = (password: string) => send(plane.url('auth-gateway', '/auth/login'), { method: 'POST', body: { username: 'audit-operator', password } });
    assert.equal((await attempt(WRONG)).status, 401);
    assert.equal((await attempt(WRONG)).status, 401);
    assert.equal((await attempt(WRONG)).status, 429);
    const locks = await auditOf(plane, admin, 'action=auth.login.lockout');
    assert.equal(locks.length, 1, JSON.stringify(locks));
    assert.equal(locks[0]!.target, 'user:audit-operator');
    assert.equal(typeof locks[0]!.details?.ip, 'string');
    assert.ok(Number(locks[0]!.details?.lockedSeconds) >= 1);
    assert.ok(!JSON.stringify(locks).includes(WRONG));
  });

  test('filters by time, principal and action prefix; pages with a cursor', async () => {
    assert.deepEqual(await auditOf(plane, admin, `from=${Date.now() + 3_600_000}`), []);
    assert.deepEqual(await auditOf(plane, admin, 'to=2000-01-01T00:00:00Z'), []);
    const mine = await auditOf(plane, admin, 'principal=user:admin&action=admin.*&limit=1000');
    assert.ok(mine.length >= 6 && mine.every((e) => e.principal === 'user:admin' && e.action.startsWith('admin.')));
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await send(plane.url('auth-gateway', `/admin/audit?principal=user:admin&action=admin.*&limit=2${cursor ? `&cursor=${cursor}` : ''}`), { headers: admin });
      assert.equal(r.status, 200, r.text);
      ids.push(...(r.body.entries as Entry[]).map((e) => e.id));
      cursor = r.body.next_cursor as string | null;
    } while (cursor);
    assert.deepEqual(ids, mine.map((e) => e.id));
    for (const bad of ['limit=0', 'limit=5000', 'cursor=../../x', 'from=yesterday', `from=${Date.now()}&to=${Date.now() - 1000}`]) {
      assert.equal((await send(plane.url('auth-gateway', `/admin/audit?${bad}`), { headers: admin })).status, 400, bad);
    }
  });

  test('cancelling someone else’s query is recorded; cancelling one’s own is not', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ data_id: `q${i}`, payload: { country: i % 2 ? 'NL' : 'DE' } }));
    assert.equal((await send(plane.url('tenant-node', '/data'), { method: 'POST', headers: writer.headers, body: rows })).status, 201);
    for (let i = 0; ; i++) {
      const stats = await send(plane.url('metadata-catalog', '/metadata/stats'), { headers: writer.headers });
      if (stats.body.rows === 300) break;
      assert.ok(i < 200, `rows not applied: ${stats.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const slow = 'SELECT count() FROM events a JOIN events b ON a.country = b.country JOIN events c ON b.country = c.country JOIN events d ON c.country = d.country JOIN events e ON d.country = e.country';
    const runningId = async (owner: string) => {
      for (let i = 0; i < 200; i++) {
        const list = await send(plane.url('operation-node', '/query/running'), { headers: operator });
        const q = (list.body.queries as Array<{ id: string; owner?: string; tenant: string }>).find((x) => x.owner === owner);
        if (q) return q.id;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`no running query of ${owner}`);
    };
    const keyId = /^Bearer cpk_([0-9a-f]{16})_/.exec(writer.headers.authorization!)![1]!;
    // The operator cancels the writer's query (seen across tenants without naming one).
    const first = send(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: writer.headers, body: { sql: slow } });
    const id = await runningId(`apiKey:${keyId}`);
    const cancelled = await send(plane.url('operation-node', `/query/${id}`), { method: 'DELETE', headers: operator });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal((await first).status, 409);
    const [entry] = await auditOf(plane, admin, 'action=query.cancel');
    assert.equal(entry?.principal, 'user:audit-operator');
    assert.equal(entry?.role, 'operator');
    assert.equal(entry?.tenant, 'audit-a');
    assert.equal(entry?.target, `query:${id}`);
    assert.equal(entry?.details?.owner, `apiKey:${keyId}`);
    // The owner cancelling its own query adds nothing.
    const second = send(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: writer.headers, body: { sql: slow } });
    const own = await runningId(`apiKey:${keyId}`);
    assert.equal((await send(plane.url('operation-node', `/query/${own}`), { method: 'DELETE', headers: writer.headers })).status, 200);
    await second;
    assert.equal((await auditOf(plane, admin, 'action=query.cancel')).length, 1);
    // An operator reads no tenant data.
    assert.equal((await send(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: { ...operator, 'x-tenant-id': 'audit-a' }, body: { sql: 'SELECT 1 FROM events' } })).status, 403);
    assert.equal((await send(plane.url('tenant-node', '/data'), { headers: { ...operator, 'x-tenant-id': 'audit-a' } })).status, 403);
  });
});

describe('audit log across kill -9', () => {
  test('an acknowledged admin action has its entry after the process is killed and restarted', async () => {
    const dataDir = makeTempDir('audit-kill');
    let plane: RunningPlane | undefined;
    try {
      plane = await startPlane({ dataDir, env: { LOG_LEVEL: 'warn', SERVICES: 'auth-gateway' } });
      const admin = await adminHeaders(plane);
      const r = await send(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: { ...admin, 'x-request-id': 'kill-9-create' }, body: { id: 'kill-nine' } });
      assert.equal(r.status, 201);
      // Killed the moment the answer is in: no shutdown, no flush.
      assert.equal(await plane.stop('SIGKILL'), 'SIGKILL');
      plane = await startPlane({ dataDir, env: { LOG_LEVEL: 'warn', SERVICES: 'auth-gateway' } });
      const entries = await auditOf(plane, await adminHeaders(plane), 'tenant=kill-nine');
      assert.equal(entries.length, 1, JSON.stringify(entries));
      assert.equal(entries[0]!.action, 'admin.tenants.create');
      assert.equal(entries[0]!.requestId, 'kill-9-create');
      assert.equal(entries[0]!.outcome, 'success');
    } finally {
      await plane?.cleanup();
      removeTempDir(dataDir);
    }
  });
});
