// Session upkeep against the real process: a user lists their own sessions and
// ends one (its tokens stop at once), another user's session id is a 404 like
// any unknown id, ended sessions are pruned by the maintenance loop (metrics
// say so), and a login lockout survives a SIGKILL and restart of the process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, login, startPlane, tenantKeyHeaders, TEST_ADMIN_USERNAME, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const USER = 'session-user';
const PASSWORD = 'session-user-password';
const ENV = { SERVICES: 'auth-gateway,monitoring', SESSION_PRUNE_INTERVAL_MS: '300', LOGIN_MAX_FAILURES: '2', LOGIN_LOCKOUT_SECONDS: '120' };

interface PublicSession {
  id: string;
  current: boolean;
  createdAt: string;
  expiresAt: string;
  client?: { ip?: string; userAgent?: string };
}

async function call(plane: RunningPlane, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(plane.url('auth-gateway', path), {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function loginAs(plane: RunningPlane, userAgent: string): Promise<{ token: string; refresh: string; headers: Record<string, string> }> {
  const res = await fetch(plane.url('auth-gateway', '/auth/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ username: USER, password: PASSWORD }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { access_token: string; refresh_token: string };
  return { token: body.access_token, refresh: body.refresh_token, headers: { authorization: `Bearer ${body.access_token}` } };
}

const sessionIdOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;

async function metricsText(plane: RunningPlane): Promise<string> {
  return (await fetch(plane.url('monitoring', '/metrics'), { headers: await adminHeaders(plane) })).text();
}

describe('session upkeep', () => {
  let plane: RunningPlane;
  let dataDir: string;

  before(async () => {
    dataDir = makeTempDir('auth-sessions');
    plane = await startPlane({ dataDir, env: ENV });
    const admin = await adminHeaders(plane);
    assert.equal((await call(plane, 'POST', '/admin/tenants', admin, { id: 'sessions-t' })).status, 201);
    assert.equal((await call(plane, 'POST', '/admin/users', admin, { username: USER, password: PASSWORD, role: 'reader', tenant: 'sessions-t' })).status, 201);
  });
  after(async () => {
    await plane?.cleanup();
    removeTempDir(dataDir);
  });

  test('GET /auth/sessions lists one’s own live sessions; DELETE ends one of them at once', async () => {
    const a = await loginAs(plane, 'device-a');
    const b = await loginAs(plane, 'device-b');
    const listed = await call(plane, 'GET', '/auth/sessions', a.headers);
    assert.equal(listed.status, 200);
    const sessions = listed.body.sessions as PublicSession[];
    assert.deepEqual(sessions.map((s) => s.id).sort(), [sessionIdOf(a.token), sessionIdOf(b.token)].sort());
    assert.deepEqual(sessions.map((s) => [s.client?.userAgent, s.current]).sort(), [['device-a', true], ['device-b', false]]);
    assert.ok(sessions.every((s) => Date.parse(s.expiresAt) > Date.parse(s.createdAt)));
    assert.doesNotMatch(JSON.stringify(listed.body), /refreshHash|spent|rt_/, 'no refresh-token material');

    const ended = await call(plane, 'DELETE', `/auth/sessions/${sessionIdOf(b.token)}`, a.headers);
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    assert.equal((await call(plane, 'GET', '/auth/me', b.headers)).status, 401, 'the ended session’s access token stops');
    assert.equal((await call(plane, 'POST', '/auth/refresh', {}, { refresh_token: b.refresh })).status, 401, 'and its refresh token');
    assert.equal((await call(plane, 'GET', '/auth/me', a.headers)).status, 200, 'the other session goes on');
    assert.deepEqual(((await call(plane, 'GET', '/auth/sessions', a.headers)).body.sessions as PublicSession[]).map((s) => s.id), [sessionIdOf(a.token)]);

    // Ending one's current session works like logout.
    const c = await loginAs(plane, 'device-c');
    assert.equal((await call(plane, 'DELETE', `/auth/sessions/${sessionIdOf(c.token)}`, c.headers)).status, 200);
    assert.equal((await call(plane, 'GET', '/auth/me', c.headers)).status, 401);
  });

  test('another user’s session id, an unknown id, an ended one and garbage are all 404; API keys have no sessions', async () => {
    const mine = await loginAs(plane, 'device-d');
    const admin = await adminHeaders(plane);
    const otherUsers = await call(plane, 'DELETE', `/auth/sessions/${sessionIdOf(mine.token)}`, admin);
    assert.equal(otherUsers.status, 404, 'not 403: the id of another user’s session must not be confirmed');
    assert.equal((otherUsers.body.error as { code: string }).code, 'not_found');
    assert.equal((await call(plane, 'GET', '/auth/me', mine.headers)).status, 200, 'and it is untouched');
    const adminSessions = (await call(plane, 'GET', '/auth/sessions', admin)).body.sessions as PublicSession[];
    assert.ok(adminSessions.length >= 1 && !adminSessions.some((s) => s.id === sessionIdOf(mine.token)), 'the admin sees only their own');

    const unknown = await call(plane, 'DELETE', '/auth/sessions/00000000-0000-4000-8000-000000000000', mine.headers);
    assert.equal(unknown.status, 404);
    assert.deepEqual(
      [unknown.body.error as { code: string; message: string }].map((e) => [e.code, e.message.replace(/[0-9a-f-]{36}/, '<id>')]),
      [otherUsers.body.error as { code: string; message: string }].map((e) => [e.code, e.message.replace(/[0-9a-f-]{36}/, '<id>')]),
      'the same answer as for another user’s session',
    );
    assert.equal((await call(plane, 'DELETE', `/auth/sessions/${'x'.repeat(300)}`, mine.headers)).status, 404);
    const gone = await loginAs(plane, 'device-e');
    await call(plane, 'POST', '/auth/logout', gone.headers);
    assert.equal((await call(plane, 'DELETE', `/auth/sessions/${sessionIdOf(gone.token)}`, mine.headers)).status, 404, 'an ended session');

    const key = await tenantKeyHeaders(plane, 'sessions-t', { role: 'reader' });
    const byKey = await call(plane, 'GET', '/auth/sessions', { authorization: key.headers.authorization! });
    assert.equal(byKey.status, 400);
    assert.equal((await call(plane, 'GET', '/auth/sessions', {})).status, 401);
    assert.equal(plane.child.exitCode, null);
  });

  test('the maintenance loop prunes ended sessions on schedule and reports sessions and state-store size', async () => {
    const text = await (async () => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const t = await metricsText(plane);
        // Several sessions were ended above; each pass (every 300 ms) deletes what has ended since the last.
        const pruned = Number(/^auth_sessions_pruned_total (\d+)/m.exec(t)?.[1] ?? 0);
        if (pruned >= 3) return t;
        if (Date.now() > deadline) throw new Error(`no pruning seen:\n${t.split('\n').filter((l) => l.startsWith('auth_')).join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const live = Number(/^auth_sessions (\d+)/m.exec(text)?.[1]);
    // Live now: the test admin's, device-a's and device-d's.
    assert.equal(live, 3, 'live sessions after pruning');
    assert.match(text, /^auth_maintenance_runs_total\{outcome="ok"\} [1-9]/m);
    assert.ok(Number(/^state_store_disk_bytes (\d+)/m.exec(text)?.[1]) > 0, 'state store size is exported');
    // What is listed is what is left: ended sessions are gone from the store, not just hidden.
    const mine = await loginAs(plane, 'device-f');
    assert.equal(((await call(plane, 'GET', '/auth/sessions', mine.headers)).body.sessions as PublicSession[]).length, 3);
  });

  test('a login lockout survives a SIGKILL and restart of the process', async () => {
    const attempt = (password: string) => call(plane, 'POST', '/auth/login', {}, { username: USER, password });
    assert.equal((await attempt('wrong-password-1')).status, 401);
    assert.equal((await attempt('wrong-password-2')).status, 401);
    const locked = await attempt(PASSWORD);
    assert.equal(locked.status, 429, 'locked, even for the right password');

    await plane.stop('SIGKILL');
    await plane.cleanup();
    plane = await startPlane({ dataDir, env: ENV });
    const after = await attempt(PASSWORD);
    assert.equal(after.status, 429, `still locked after the restart (got ${after.status})`);
    const retry = Number(after.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 120, `Retry-After ${retry}`);
    // Only that user: the admin logs in from the same address.
    assert.equal((await login(plane, TEST_ADMIN_USERNAME, 'test-admin-password')).user.username, TEST_ADMIN_USERNAME);
    const text = await (async () => {
      for (let i = 0; i < 50; i++) {
        const t = await metricsText(plane);
        if (/^auth_login_counters\{state="locked"\} [1-9]/m.test(t)) return t;
        await new Promise((r) => setTimeout(r, 200));
      }
      return metricsText(plane);
    })();
    assert.match(text, /^auth_login_counters\{state="locked"\} [1-9]/m, 'the lockout is counted from the store after the restart');
  });
});
