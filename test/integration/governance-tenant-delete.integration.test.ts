// DELETE /admin/tenants/:id against the real process: the tenant's data goes
// from every sink (ClickHouse tables, Parquet files, catalog entries, id
// index) and from the read-your-writes buffer, and rows acknowledged but not
// yet applied never come back: not after the delete, not after kill -9 and a
// restart that replays the WAL. Its API keys, memberships and sessions go too;
// other tenants are untouched, and the id can be used again from scratch.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { adminHeaders, login, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';
import { send } from '../helpers/http-answer.js';

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const PASSWORD = 'tenant-delete-password-1';
const GONE = 'del-gone';
const KEPT = 'del-kept';

test('a deleted tenant is gone from every sink and every credential, and its unapplied rows stay gone across kill -9', async () => {
  const dataDir = makeTempDir('tenant-delete');
  // A long applier interval with a 500-row batch: large posts apply at once, a few rows stay pending.
  const env = { LOG_LEVEL: 'warn', APPLIER_INTERVAL_MS: '60000', APPLIER_BATCH_RECORDS: '500' };
  let plane: RunningPlane | undefined;
  try {
    plane = await startPlane({ dataDir, env });
    const p = plane;
    const url = (service: string, route: string) => p.url(service, route);
    const admin = await adminHeaders(p);
    const as = (tenant: string) => ({ ...admin, 'x-tenant-id': tenant });
    const gone = await tenantKeyHeaders(p, GONE);
    const kept = await tenantKeyHeaders(p, KEPT);
    const member = await send(url('auth-gateway', '/admin/users'), {
      method: 'POST',
      headers: admin,
      body: { username: 'del-member', password: PASSWORD, memberships: [{ tenant: GONE, role: 'writer' }, { tenant: KEPT, role: 'reader' }] },
    });
    assert.equal(member.status, 201, member.text);
    const memberToken = { authorization: `Bearer ${(await login(p, 'del-member', PASSWORD)).access_token}` };

    const rows = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ data_id: `${prefix}-${i}`, payload: { n: i, who: prefix } }));
    for (const [tenant, table, n] of [[GONE, 'clicks', 600], [GONE, 'events', 600], [KEPT, 'events', 600]] as const) {
      const r = await send(url('tenant-node', `/data?table=${table}`), { method: 'POST', headers: as(tenant), body: rows(`e-${table}`, n) });
      assert.equal(r.status, 201, r.text);
    }
    await until('applied', async () => (await send(url('metadata-catalog', '/metadata/stats'), { headers: as(GONE) })).body.rows === 1200 && (await send(url('metadata-catalog', '/metadata/stats'), { headers: as(KEPT) })).body.rows === 600);
    // Acknowledged but not applied (below the batch size, long before the next tick).
    assert.equal((await send(url('tenant-node', '/data'), { method: 'POST', headers: gone.headers, body: rows('late', 7) })).status, 201);
    assert.equal((await send(url('tenant-node', '/data?data_id=late-3'), { headers: gone.headers })).body.count, 1, 'read-your-writes sees the late rows');
    assert.ok(existsSync(path.join(dataDir, 'parquet', GONE)), 'the tenant has Parquet files');

    const deleted = await send(url('auth-gateway', `/admin/tenants/${GONE}`), { method: 'DELETE', headers: admin });
    assert.equal(deleted.status, 200, deleted.text);
    assert.deepEqual(deleted.body.tables, ['clicks', 'events']);
    assert.equal(deleted.body.rowsDeleted, 1200);
    assert.equal(deleted.body.pendingRowsDropped, 7);
    assert.equal(deleted.body.idsForgotten, 1200);
    assert.equal(deleted.body.apiKeysRevoked, 1);
    assert.equal(deleted.body.membersUpdated, 1);

    // At once: no rows through any read path, no catalog, no files, no credentials.
    assert.equal((await send(url('tenant-node', '/data?limit=1000'), { headers: as(GONE) })).body.count, 0);
    assert.equal((await send(url('tenant-node', '/data?data_id=late-3'), { headers: as(GONE) })).body.count, 0, 'pending rows are gone too');
    assert.deepEqual((await send(url('metadata-catalog', '/metadata/tables'), { headers: as(GONE) })).body.tables, []);
    assert.equal((await send(url('operation-node', '/query/execute'), { method: 'POST', headers: as(GONE), body: { sql: 'SELECT count() AS n FROM events' } })).status, 400, 'no such table');
    assert.ok(!existsSync(path.join(dataDir, 'parquet', GONE)), 'its Parquet directory is gone');
    assert.equal((await send(url('tenant-node', '/data/stats'), { headers: gone.headers })).status, 401, 'its API key is revoked');
    assert.equal((await send(url('tenant-node', '/data/stats'), { headers: { ...memberToken, 'x-tenant-id': KEPT } })).status, 401, 'the member’s session ended');
    assert.equal((await send(url('auth-gateway', `/admin/tenants/${GONE}`), { headers: admin })).status, 404);
    assert.equal((await send(url('auth-gateway', `/admin/tenants/${GONE}`), { method: 'DELETE', headers: admin })).status, 404, 'a second delete is 404');

    // Killed before the applier ever saw the late rows: the WAL still has them.
    assert.equal(await p.stop('SIGKILL'), 'SIGKILL');
    plane = await startPlane({ dataDir, env: { LOG_LEVEL: 'warn', APPLIER_INTERVAL_MS: '50' } });
    const q = plane;
    const url2 = (service: string, route: string) => q.url(service, route);
    const admin2 = await adminHeaders(q);
    const as2 = (tenant: string) => ({ ...admin2, 'x-tenant-id': tenant });
    await until('the applier to pass the replayed WAL', async () => (await send(url2('tenant-node', '/data/stats'), { headers: as2(KEPT) })).body.walLag !== undefined && ((await send(url2('tenant-node', '/data/stats'), { headers: as2(KEPT) })).body.walLag as { records: number }).records === 0);
    assert.equal((await send(url2('tenant-node', '/data?limit=1000'), { headers: as2(GONE) })).body.count, 0, 'nothing resurrected from the WAL');
    assert.deepEqual((await send(url2('metadata-catalog', '/metadata/tables'), { headers: as2(GONE) })).body.tables, []);
    assert.ok(!existsSync(path.join(dataDir, 'parquet', GONE)));
    const keptStats = await send(url2('metadata-catalog', '/metadata/stats'), { headers: as2(KEPT) });
    assert.equal(keptStats.body.rows, 600, 'the other tenant is untouched');
    const audit = (await send(url2('auth-gateway', `/admin/audit?action=admin.tenants.delete&tenant=${GONE}`), { headers: admin2 })).body.entries as Array<{ outcome: string; details?: Record<string, unknown> }>;
    // Newest first: the second delete (404), then the delete itself.
    assert.deepEqual(audit.map((e) => e.outcome), ['rejected', 'success']);
    assert.equal(audit[1]?.details?.rowsDeleted, 1200);
    const me = await send(url2('auth-gateway', '/admin/users?tenant=' + KEPT), { headers: admin2 });
    const user = (me.body.users as Array<{ username: string; tenants?: Record<string, string> }>).find((u) => u.username === 'del-member');
    assert.deepEqual(user?.tenants, { [KEPT]: 'reader' }, 'the member keeps only its other membership');

    // The id starts over: the same data_ids are new rows (the id index forgot them).
    assert.equal((await send(url2('auth-gateway', '/admin/tenants'), { method: 'POST', headers: admin2, body: { id: GONE } })).status, 201);
    assert.equal((await send(url2('tenant-node', '/data?table=events'), { method: 'POST', headers: as2(GONE), body: rows('e-events', 3) })).status, 201);
    await until('the new rows applied', async () => (await send(url2('metadata-catalog', '/metadata/stats'), { headers: as2(GONE) })).body.rows === 3);
    const count = await send(url2('operation-node', '/query/execute'), { method: 'POST', headers: as2(GONE), body: { sql: 'SELECT count() AS n FROM events' } });
    assert.equal((count.body.rows as Array<{ n: number }>)[0]?.n, 3, count.text);
    assert.equal((await send(url2('tenant-node', '/data/stats'), { headers: kept.headers })).status, 200, 'the other tenant’s key still works');
  } finally {
    await plane?.cleanup();
    removeTempDir(dataDir);
  }
});
