import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiKeyStore } from '../../src/platform/auth/api-key-store.js';
import { SessionStore } from '../../src/platform/auth/session-store.js';
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
