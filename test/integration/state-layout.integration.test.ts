// The declared state layout (src/catalog/state-layout.ts) is what is on disk:
// after a full end-to-end run against the real process (plus the few actions
// the e2e script may not take: a failed login, an approval, a cost-weight
// change, an Idempotency-Key, a worker and a job), every sublevel in the LevelDB directory is a
// declared one, and every declared one is there.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { MODE_SPECIFIC_SUBLEVELS, STATE_LAYOUT } from '../../src/catalog/state-layout.js';
import { adminHeaders, login, startPlane, TEST_ADMIN_PASSWORD } from '../helpers/control-plane-process.js';
import { runE2e } from '../helpers/e2e-runner.js';

async function sublevelsOnDisk(statePath: string): Promise<Set<string>> {
  const db = new ClassicLevel<string, string>(statePath, { valueEncoding: 'utf8' });
  await db.open();
  const names = new Set<string>();
  try {
    // Keys are `!<sublevel>!<key>`: jump from one sublevel to the next instead of reading every key.
    let from = '!';
    for (;;) {
      const [key] = await db.keys({ gt: from, limit: 1 }).all();
      if (key === undefined) break;
      const m = /^!([^!]+)!/.exec(key);
      assert.ok(m, `a key outside any sublevel: ${JSON.stringify(key.slice(0, 40))}`);
      names.add(m[1]!);
      from = `!${m[1]}"`; // '"' sorts right after '!': past every key of this sublevel
    }
  } finally {
    await db.close();
  }
  return names;
}

test('after a full e2e run, the sublevels on disk are exactly the declared ones, each with its owner', async () => {
  const plane = await startPlane({ keepDataDir: true, env: { APPROVAL_REQUIRED_FOR: 'retention-change' } });
  try {
    const e2e = await runE2e(plane);
    assert.deepEqual(e2e.failed, [], e2e.output);
    const admin = { ...(await adminHeaders(plane)), 'content-type': 'application/json' };
    const call = (service: string, method: string, p: string, body?: unknown, headers: Record<string, string> = admin) =>
      fetch(plane.url(service, p), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    // A failed login (login counters), a pending approval, cost weights, an Idempotency-Key answer.
    assert.equal((await call('auth-gateway', 'POST', '/auth/login', { username: 'admin', password: 'wrong-password' }, { 'content-type': 'application/json' })).status, 401);
    assert.equal((await call('auth-gateway', 'POST', '/admin/tenants', { id: 'layout-t', name: 'Layout' })).status, 201);
    assert.equal((await call('auth-gateway', 'PATCH', '/admin/tenants/layout-t', { retentionDays: 7 })).status, 202);
    assert.equal((await call('cbo-engine', 'PUT', '/optimize/config', { clickhouseRowCost: 1.5 })).status, 200);
    const ingest = await call('tenant-node', 'POST', '/data', { data_id: 'layout-1', payload: { n: 1 } }, { ...admin, 'x-tenant-id': 'layout-t', 'idempotency-key': 'layout-key-1' });
    assert.equal(ingest.status, 201);
    // A worker registration and a job, in case the e2e script took neither.
    const credential = (await (await call('auth-gateway', 'POST', '/admin/service-credentials', { name: 'layout-worker' })).json()) as { key: string };
    const registered = await call('operation-node', 'POST', '/workers/register', { service: 'tenant-node', url: 'http://127.0.0.1:9', jobTypes: ['column-stats'] }, { authorization: `Bearer ${credential.key}`, 'content-type': 'application/json' });
    assert.equal(registered.status, 201, await registered.clone().text());
    assert.equal((await call('operation-node', 'POST', '/jobs', { type: 'column-stats', payload: { tenant: 'layout-t' } })).status, 201);
    await login(plane, 'admin', TEST_ADMIN_PASSWORD);
    assert.equal(await plane.stop('SIGTERM'), 0);

    const onDisk = await sublevelsOnDisk(path.join(plane.dataDir, 'state'));
    const declared = new Set(Object.keys(STATE_LAYOUT));
    assert.deepEqual([...onDisk].filter((n) => !declared.has(n)).sort(), [], 'sublevels on disk that no owner declares');
    assert.deepEqual([...declared].filter((n) => !onDisk.has(n) && !MODE_SPECIFIC_SUBLEVELS.has(n as keyof typeof STATE_LAYOUT)).sort(), [], 'declared sublevels the run never wrote');
  } finally {
    await plane.cleanup();
    const { removeTempDir } = await import('../helpers/temp-dir.js');
    removeTempDir(plane.dataDir);
  }
});
