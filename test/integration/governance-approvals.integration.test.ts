// Approval of destructive operations against the real process: with
// APPROVAL_REQUIRED_FOR set, a retention change, a retention sweep and a tenant
// delete by an admin answer 202 and change nothing until a different admin
// approves; self-approval, expired and already-decided approvals are clear
// 4xx; rejection ends a request without effect; both steps are audited and
// the dashboard's snapshot lists what is pending.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, login, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { send, errorCode } from '../helpers/http-answer.js';

const PASSWORD = 'approvals-test-password-1';

async function secondAdminAndOperator(plane: RunningPlane, admin: Record<string, string>) {
  for (const [username, role] of [['admin2', 'admin'], ['approvals-operator', 'operator']]) {
    const r = await send(plane.url('auth-gateway', '/admin/users'), { method: 'POST', headers: admin, body: { username, password: PASSWORD, role } });
    assert.equal(r.status, 201, r.text);
  }
  return {
    admin2: { authorization: `Bearer ${(await login(plane, 'admin2', PASSWORD)).access_token}` },
    operator: { authorization: `Bearer ${(await login(plane, 'approvals-operator', PASSWORD)).access_token}` },
  };
}

describe('approvals of destructive operations', () => {
  let plane: RunningPlane;
  let admin: Record<string, string>;
  let admin2: Record<string, string>;
  let operator: Record<string, string>;
  const url = (service: string, path: string) => plane.url(service, path);
  const decide = (id: string, decision: 'approve' | 'reject', headers: Record<string, string>) => send(url('auth-gateway', `/admin/approvals/${id}/${decision}`), { method: 'POST', headers });
  const tenant = async (id: string) => send(url('auth-gateway', `/admin/tenants/${id}`), { headers: admin });

  before(async () => {
    plane = await startPlane({ env: { LOG_LEVEL: 'warn', APPROVAL_REQUIRED_FOR: 'retention-sweep,tenant-delete,retention-change', APPROVAL_TTL_SECONDS: '3600' } });
    admin = await adminHeaders(plane);
    ({ admin2, operator } = await secondAdminAndOperator(plane, admin));
  });
  after(async () => plane?.cleanup());

  test('a retention change waits for a different admin; self-approval, operators and second decisions are refused', async () => {
    assert.equal((await send(url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: admin, body: { id: 'ap-a' } })).status, 201);
    // Settings that are not retention apply at once.
    const renamed = await send(url('auth-gateway', '/admin/tenants/ap-a'), { method: 'PATCH', headers: admin, body: { name: 'Acme' } });
    assert.equal(renamed.status, 200);
    const asked = await send(url('auth-gateway', '/admin/tenants/ap-a'), { method: 'PATCH', headers: admin, body: { retentionDays: 30 } });
    assert.equal(asked.status, 202, asked.text);
    assert.equal(asked.body.status, 'pending_approval');
    const id = String(asked.body.approvalId);
    assert.equal((await tenant('ap-a')).body.retentionDays, undefined, 'nothing changed yet');

    const self = await decide(id, 'approve', admin);
    assert.equal(self.status, 403);
    assert.equal(errorCode(self), 'self_approval');
    assert.equal((await decide(id, 'approve', operator)).status, 403);
    assert.equal((await tenant('ap-a')).body.retentionDays, undefined, 'still nothing changed');
    const pending = await send(url('auth-gateway', '/admin/approvals?status=pending'), { headers: operator });
    assert.ok((pending.body.approvals as Array<{ id: string }>).some((a) => a.id === id), 'operators list pending approvals');

    const approved = await decide(id, 'approve', admin2);
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.body.status, 'approved');
    assert.equal(approved.body.decidedBy, 'user:admin2');
    assert.equal((await tenant('ap-a')).body.retentionDays, 30);
    for (const [decision, who] of [['approve', admin2], ['reject', admin2], ['approve', admin]] as const) {
      const again = await decide(id, decision, who);
      assert.equal(again.status, 409, `${decision} again`);
      assert.equal(errorCode(again), 'approval_decided');
    }
    assert.equal((await decide('apr-000000000-0000000000', 'approve', admin2)).status, 404);

    const audit = (await send(url('auth-gateway', '/admin/audit?tenant=ap-a&limit=100'), { headers: operator })).body.entries as Array<{ action: string; outcome: string; principal: string; details?: Record<string, unknown> }>;
    const request = audit.find((e) => e.action === 'admin.tenants.update' && e.outcome === 'pending');
    assert.equal(request?.details?.approvalId, id);
    assert.equal(request?.principal, 'user:admin');
    const approval = audit.find((e) => e.action === 'admin.approvals.approve' && e.outcome === 'success');
    assert.equal(approval?.principal, 'user:admin2');
    assert.equal(approval?.details?.approvalId, id);
    assert.equal(approval?.details?.requestedBy, 'user:admin');
    assert.ok(audit.some((e) => e.action === 'admin.approvals.approve' && e.outcome === 'denied' && e.principal === 'user:admin'), 'the self-approval is on record');
  });

  test('a retention sweep by an admin drops nothing until approved; a dry run needs no approval', async () => {
    const { headers } = await tenantKeyHeaders(plane, 'ap-sweep');
    const rows = [
      ...Array.from({ length: 6 }, (_, i) => ({ data_id: `old-${i}`, payload: { i }, timestamp: '2020-01-01T00:00:00Z' })),
      ...Array.from({ length: 4 }, (_, i) => ({ data_id: `new-${i}`, payload: { i } })),
    ];
    assert.equal((await send(url('tenant-node', '/data'), { method: 'POST', headers, body: rows })).status, 201);
    for (let i = 0; (await send(url('metadata-catalog', '/metadata/stats'), { headers })).body.rows !== 10; i++) {
      assert.ok(i < 200, 'rows applied');
      await new Promise((r) => setTimeout(r, 50));
    }
    const sweep = { before: '2021-01-01T00:00:00Z' };
    const dry = await send(url('tenant-node', '/data/retention/sweep'), { method: 'POST', headers: { ...admin, 'x-tenant-id': 'ap-sweep' }, body: { ...sweep, dryRun: true } });
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual({ days: dry.body.days, rows: dry.body.rows, parts: dry.body.parts }, { days: ['2020-01-01'], rows: 6, parts: 1 });
    assert.ok(Number(dry.body.bytes) > 0);
    const asked = await send(url('tenant-node', '/data/retention/sweep'), { method: 'POST', headers: { ...admin, 'x-tenant-id': 'ap-sweep' }, body: sweep });
    assert.equal(asked.status, 202, asked.text);
    assert.equal((await send(url('metadata-catalog', '/metadata/stats'), { headers })).body.rows, 10, 'nothing dropped yet');
    const approved = await decide(String(asked.body.approvalId), 'approve', admin2);
    assert.equal(approved.status, 200, approved.text);
    assert.equal((approved.body.result as { rowsDeleted: number }).rowsDeleted, 6);
    assert.equal((await send(url('metadata-catalog', '/metadata/stats'), { headers })).body.rows, 4);
    // A cutoff in the future is refused before anything is asked for.
    const future = await send(url('tenant-node', '/data/retention/sweep'), { method: 'POST', headers: { ...admin, 'x-tenant-id': 'ap-sweep' }, body: { before: Date.now() + 86_400_000 } });
    assert.equal(future.status, 400);
    assert.equal(errorCode(future), 'validation_failed');
  });

  test('a tenant delete can be rejected (nothing happens) or approved (the tenant is gone); the dashboard lists what is pending', async () => {
    const { headers } = await tenantKeyHeaders(plane, 'ap-b');
    assert.equal((await send(url('tenant-node', '/data'), { method: 'POST', headers, body: { data_id: 'x', payload: {} } })).status, 201);
    const first = await send(url('auth-gateway', '/admin/tenants/ap-b'), { method: 'DELETE', headers: admin });
    assert.equal(first.status, 202, first.text);
    const snapshot = await send(url('monitoring', '/dashboard/api/snapshot?points=1&logs=0'), { headers: operator });
    assert.equal(snapshot.status, 200);
    const listed = (snapshot.body.approvals as Array<{ id: string; action: string; tenant: string }>).find((a) => a.id === first.body.approvalId);
    assert.deepEqual(listed && { action: listed.action, tenant: listed.tenant }, { action: 'tenant-delete', tenant: 'ap-b' });
    assert.ok(Number((snapshot.body.counters as Record<string, number>).approvalsPending) >= 1);
    assert.ok((snapshot.body.audit as Array<{ action: string }>).some((e) => e.action === 'admin.tenants.delete'), 'recent audit entries are in the snapshot');

    const rejected = await decide(String(first.body.approvalId), 'reject', admin2);
    assert.equal(rejected.status, 200);
    assert.equal(rejected.body.status, 'rejected');
    assert.equal((await tenant('ap-b')).status, 200, 'a rejected delete leaves the tenant');
    assert.equal((await send(url('tenant-node', '/data/stats'), { headers })).status, 200);

    const second = await send(url('auth-gateway', '/admin/tenants/ap-b'), { method: 'DELETE', headers: admin });
    assert.equal(second.status, 202);
    const approved = await decide(String(second.body.approvalId), 'approve', admin2);
    assert.equal(approved.status, 200, approved.text);
    assert.equal((await tenant('ap-b')).status, 404);
    assert.equal((await send(url('tenant-node', '/data/stats'), { headers })).status, 401, 'its API key is revoked');
    const after = await send(url('monitoring', '/dashboard/api/snapshot?points=1&logs=0'), { headers: operator });
    assert.ok(!(after.body.approvals as Array<{ id: string }>).some((a) => a.id === second.body.approvalId), 'a decided approval is no longer pending');
  });
});

describe('approval expiry', () => {
  test('an approval past APPROVAL_TTL_SECONDS is 410 and its operation never runs', async () => {
    const plane = await startPlane({ env: { LOG_LEVEL: 'warn', SERVICES: 'auth-gateway', APPROVAL_REQUIRED_FOR: 'retention-change', APPROVAL_TTL_SECONDS: '1' } });
    try {
      const admin = await adminHeaders(plane);
      const { admin2 } = await secondAdminAndOperator(plane, admin);
      assert.equal((await send(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: admin, body: { id: 'ap-exp', retentionDays: 90 } })).status, 201);
      const asked = await send(plane.url('auth-gateway', '/admin/tenants/ap-exp'), { method: 'PATCH', headers: admin, body: { retentionDays: 1 } });
      assert.equal(asked.status, 202);
      await new Promise((r) => setTimeout(r, 1500));
      const late = await send(plane.url('auth-gateway', `/admin/approvals/${String(asked.body.approvalId)}/approve`), { method: 'POST', headers: admin2 });
      assert.equal(late.status, 410, late.text);
      assert.equal(errorCode(late), 'approval_expired');
      assert.equal((await send(plane.url('auth-gateway', '/admin/tenants/ap-exp'), { headers: admin })).body.retentionDays, 90);
      const record = await send(plane.url('auth-gateway', `/admin/approvals/${String(asked.body.approvalId)}`), { headers: admin });
      assert.equal(record.body.status, 'expired');
    } finally {
      await plane.cleanup();
    }
  });
});
