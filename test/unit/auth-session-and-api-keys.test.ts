import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiKeyStore } from '../../src/auth/api-key-store.js';
import { SessionStore } from '../../src/auth/session-store.js';
import { StateStore } from '../../src/platform/state-store.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let state: StateStore;
before(async () => {
  dir = makeTempDir('auth-unit');
  state = await StateStore.open(dir);
});
after(async () => {
  await state.close();
  removeTempDir(dir);
});

test('refresh rotates; the spent token revokes the whole family; the hash, not the token, is stored', async () => {
  const sessions = new SessionStore(() => state, 3600);
  const { session, refreshToken: first } = await sessions.create({ username: 'alice', role: 'writer', tenant: 'acme' });
  const stored = JSON.stringify(await state.sublevel('sessions').get(session.id));
  assert.ok(!stored.includes(first.split('.')[1]!), 'refresh token stored only hashed');
  const r1 = await sessions.refresh(first);
  assert.ok(r1.ok);
  assert.notEqual(r1.refreshToken, first);
  assert.equal(await sessions.isActive(session.id), true);
  assert.deepEqual(await sessions.refresh(first), { ok: false, reason: 'reused' });
  assert.equal(await sessions.isActive(session.id), false);
  assert.deepEqual(await sessions.refresh(r1.refreshToken), { ok: false, reason: 'revoked' });
  // A fresh store instance (another start) reads the revocation from disk.
  assert.equal(await new SessionStore(() => state, 3600).isActive(session.id), false);
});

test('concurrent refreshes of one token: exactly one wins', async () => {
  const sessions = new SessionStore(() => state, 3600);
  const { refreshToken } = await sessions.create({ username: 'bob', role: 'reader', tenant: 'acme' });
  const outcomes = await Promise.all([sessions.refresh(refreshToken), sessions.refresh(refreshToken)]);
  assert.equal(outcomes.filter((o) => o.ok).length, 1);
});

test('garbage and unknown refresh tokens fail without revoking anything', async () => {
  const sessions = new SessionStore(() => state, 3600);
  const { session } = await sessions.create({ username: 'carol', role: 'reader', tenant: 'acme' });
  assert.deepEqual(await sessions.refresh('nope'), { ok: false, reason: 'unknown' });
  assert.deepEqual(await sessions.refresh(`rt_${session.id}.${'A'.repeat(43)}`), { ok: false, reason: 'unknown' });
  assert.equal(await sessions.isActive(session.id), true);
  assert.equal(await sessions.revokeUser('carol', 'test'), 1);
  assert.equal(await sessions.isActive(session.id), false);
});

test('API keys: stored as scrypt, verified once then from the cache, revocation is immediate', async () => {
  const keys = new ApiKeyStore(() => state, 60_000);
  const { key, record } = await keys.create({ name: 'ingest', role: 'writer', tenant: 'acme', createdBy: 'admin' });
  assert.match(key, /^cpk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.match(record.hash, /^scrypt\$/);
  assert.ok(!JSON.stringify(await state.sublevel('apiKeys').get(record.id)).includes(key.slice(21)));

  const t0 = performance.now();
  const p = await keys.verify(key);
  const slow = performance.now() - t0;
  assert.deepEqual(p, { subject: record.id, role: 'writer', tenant: 'acme', kind: 'apiKey' });
  const t1 = performance.now();
  for (let i = 0; i < 1000; i++) await keys.verify(key);
  const fast = (performance.now() - t1) / 1000;
  assert.ok(fast < slow / 10, `cached verification (${fast.toFixed(3)} ms) is far cheaper than scrypt (${slow.toFixed(1)} ms)`);

  assert.equal(await keys.verify(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')), null, 'wrong secret');
  assert.equal(await keys.verify('cpk_0000000000000000_' + 'A'.repeat(43)), null, 'unknown id');
  assert.equal(await keys.verify('garbage'), null);

  await keys.revoke(record.id);
  assert.equal(await keys.verify(key), null, 'revoked at once despite the cache');
});

test('many concurrent first uses of one key run scrypt once', async () => {
  const keys = new ApiKeyStore(() => state, 60_000);
  const { key } = await keys.create({ name: 'burst', role: 'reader', tenant: 'acme', createdBy: 'admin' });
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: 64 }, () => keys.verify(key)));
  const ms = performance.now() - t0;
  assert.ok(all.every((p) => p?.role === 'reader'));
  assert.ok(ms < 2000, `64 concurrent first verifications took ${ms.toFixed(0)} ms`);
});

test('sessions are indexed by user: listing and revoking one user reads only theirs, other users keep theirs', async () => {
  const sessions = new SessionStore(() => state, 3600);
  const mine = [await sessions.create({ username: 'dora', role: 'reader', tenant: 'acme' }, { ip: '10.0.0.1', userAgent: 'curl/8' })];
  mine.push(await sessions.create({ username: 'dora', role: 'reader', tenant: 'acme' }));
  // A username that is a prefix of another's must not reach into its range.
  const other = await sessions.create({ username: 'dor', role: 'reader', tenant: 'acme' });
  const longer = await sessions.create({ username: 'dora2', role: 'reader', tenant: 'acme' });

  const listed = await sessions.listForUser('dora');
  assert.deepEqual(listed.map((s) => s.id).sort(), mine.map((m) => m.session.id).sort());
  assert.deepEqual(listed.find((s) => s.id === mine[0]!.session.id)?.client, { ip: '10.0.0.1', userAgent: 'curl/8' });

  // The index holds exactly dora's keys; revoking walks those and nothing else.
  const indexed: string[] = [];
  for await (const k of state.sublevel('sessionsByUser').keys({ gt: 'dora\u0000', lt: 'dora\u0001' })) indexed.push(k);
  assert.equal(indexed.length, 2);
  assert.equal(await sessions.revokeUser('dora', 'test'), 2);
  assert.deepEqual(await sessions.listForUser('dora'), [], 'revoked sessions are not listed');
  assert.equal(await sessions.isActive(other.session.id), true);
  assert.equal(await sessions.isActive(longer.session.id), true);
});

test('prune deletes expired and revoked sessions with their index entries; live ones stay and still refresh', async () => {
  const dir2 = makeTempDir('auth-prune');
  const store = await StateStore.open(dir2);
  try {
    let t = 1_000_000;
    const sessions = new SessionStore(() => store, 60, () => t);
    const expiring = await sessions.create({ username: 'erin', role: 'writer', tenant: 'acme' });
    t += 30_000;
    const live = await sessions.create({ username: 'erin', role: 'writer', tenant: 'acme' });
    const revoked = await sessions.create({ username: 'frank', role: 'writer', tenant: 'acme' });
    await sessions.revoke(revoked.session.id, 'logout');
    t += 31_000; // the first one's refresh token has expired

    assert.deepEqual(await sessions.prune(), { pruned: 2, remaining: 1 });
    const left: string[] = [];
    for await (const k of store.sublevel('sessions').keys()) left.push(k);
    assert.deepEqual(left, [live.session.id]);
    const index: string[] = [];
    for await (const k of store.sublevel('sessionsByUser').keys()) index.push(k);
    assert.deepEqual(index, [`erin\u0000${live.session.id}`]);
    // Pruned sessions are refused as before (now as unknown), the live one works.
    assert.equal(await sessions.isActive(expiring.session.id), false);
    assert.deepEqual(await sessions.refresh(expiring.refreshToken), { ok: false, reason: 'unknown' });
    assert.equal((await sessions.refresh(live.refreshToken)).ok, true);
    assert.deepEqual(await sessions.prune(), { pruned: 0, remaining: 1 });
  } finally {
    await store.close();
    removeTempDir(dir2);
  }
});

test('sessions written before the index existed are indexed on first use, so revoking the user still finds them', async () => {
  const dir2 = makeTempDir('auth-legacy');
  const store = await StateStore.open(dir2);
  try {
    const legacy = { id: '00000000-0000-4000-8000-000000000001', username: 'gina', role: 'reader', tenant: 'acme', createdAt: Date.now(), expiresAt: Date.now() + 3600_000, refreshHash: 'x', spent: [] };
    await store.sublevel('sessions').put(legacy.id, legacy);
    const sessions = new SessionStore(() => store, 3600);
    assert.equal(await sessions.revokeUser('gina', 'user_disabled'), 1);
    assert.equal(await sessions.isActive(legacy.id), false);
    assert.ok(await store.sublevel('authMeta').get('auth.sessionsByUser.v1'), 'built once, remembered');
  } finally {
    await store.close();
    removeTempDir(dir2);
  }
});
