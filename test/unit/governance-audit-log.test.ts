import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { AuditLog, type AuditEntry } from '../../src/auth/governance/audit-log.js';
import { StateStore } from '../../src/platform/state-store.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let state: StateStore;
const silent = pino({ level: 'silent' });

before(async () => {
  dir = makeTempDir('audit-unit');
  state = await StateStore.open(dir);
});
after(async () => {
  await state.close();
  removeTempDir(dir);
});

test('entries come back newest first, filtered by principal, tenant, action (or prefix) and time, paged by cursor', async () => {
  const audit = new AuditLog(() => state, silent);
  const t0 = Date.now();
  for (let i = 0; i < 25; i++) {
    await audit.record({
      principal: i % 2 ? 'user:alice' : 'user:bob',
      role: 'admin',
      tenant: i % 3 === 0 ? 'acme' : 'globex',
      action: i % 5 === 0 ? 'admin.tenants.create' : 'admin.users.update',
      target: `thing:${i}`,
      outcome: 'success',
      requestId: `r-${i}`,
    });
  }
  const all = await audit.query({ limit: 100 });
  assert.equal(all.entries.length, 25);
  assert.equal(all.nextCursor, null);
  assert.deepEqual(all.entries.map((e) => e.target), Array.from({ length: 25 }, (_, i) => `thing:${24 - i}`), 'newest first, in write order');
  assert.ok(all.entries.every((e) => e.atMs >= t0 && e.at === new Date(e.atMs).toISOString()));

  const alice = await audit.query({ principal: 'user:alice', limit: 100 });
  assert.equal(alice.entries.length, 12);
  assert.ok(alice.entries.every((e) => e.principal === 'user:alice'));
  assert.equal((await audit.query({ tenant: 'acme', limit: 100 })).entries.length, 9);
  assert.equal((await audit.query({ action: 'admin.tenants.create', limit: 100 })).entries.length, 5);
  assert.equal((await audit.query({ action: 'admin.*', limit: 100 })).entries.length, 25);
  assert.equal((await audit.query({ action: 'admin.users', limit: 100 })).entries.length, 0, 'no prefix match without *');
  assert.equal((await audit.query({ fromMs: Date.now() + 60_000, limit: 100 })).entries.length, 0);
  assert.equal((await audit.query({ toMs: t0 - 1, limit: 100 })).entries.length, 0);

  // Paging: 10 + 10 + 5, no entry twice, none lost.
  const seen: AuditEntry[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await audit.query({ limit: 10, ...(cursor ? { cursor } : {}) });
    seen.push(...page.entries);
    pages++;
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  assert.ok(pages >= 3);
  assert.deepEqual(seen.map((e) => e.id), all.entries.map((e) => e.id));
  // Filtered paging by cursor.
  const firstAlice = await audit.query({ principal: 'user:alice', limit: 5 });
  const nextAlice = await audit.query({ principal: 'user:alice', limit: 100, cursor: firstAlice.nextCursor! });
  assert.equal(firstAlice.entries.length + nextAlice.entries.length, 12);
});

test('never stores a secret-named detail, and a reopened store still has every entry', async () => {
  const audit = new AuditLog(() => state, silent);
  const e = await audit.record({
    principal: 'user:carol',
    action: 'auth.password.change',
    outcome: 'success',
    details: { password: 'hunter2-hunter2', new_password: 'x', refreshToken: 'rt_x', authorization: 'Bearer y', apiKeyId: 'abc', rows: 3 },
  });
  assert.deepEqual(e.details, { apiKeyId: 'abc', rows: 3 });
  await state.close();
  state = await StateStore.open(dir);
  const again = await new AuditLog(() => state, silent).query({ principal: 'user:carol', limit: 10 });
  assert.equal(again.entries.length, 1);
  assert.ok(!JSON.stringify(again.entries).includes('hunter2'));
});
