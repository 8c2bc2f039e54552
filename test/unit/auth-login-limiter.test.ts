// Login throttling: per-username and per-address lockouts that double, the
// window, and persistence in the state store across a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LoginLimiter, stateStoreCounters } from '../../src/auth/login-limiter.js';
import { StateStore } from '../../src/platform/state-store.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

function limiter() {
  let t = 1_000_000;
  const l = new LoginLimiter({ maxFailuresPerUser: 3, maxFailuresPerIp: 10, lockoutSeconds: 30, maxLockoutSeconds: 600, windowSeconds: 900 }, () => t);
  return { l, advance: (s: number) => (t += s * 1000) };
}

test('a username locks after max failures, for the lockout time', async () => {
  const { l, advance } = limiter();
  await l.recordFailure('bob', '1.1.1.1');
  await l.recordFailure('bob', '1.1.1.1');
  assert.equal(await l.retryAfter('bob', '1.1.1.1'), 0);
  await l.recordFailure('bob', '1.1.1.1');
  assert.equal(await l.retryAfter('bob', '1.1.1.1'), 30);
  assert.equal(await l.retryAfter('bob', '2.2.2.2'), 30, 'from any address');
  assert.equal(await l.retryAfter('alice', '1.1.1.1'), 0, 'other users are not locked');
  advance(31);
  assert.equal(await l.retryAfter('bob', '1.1.1.1'), 0);
});

test('each failure past the limit doubles the lockout, up to the cap', async () => {
  const { l, advance } = limiter();
  for (let i = 0; i < 3; i++) await l.recordFailure('bob', `10.0.0.${i}`);
  assert.equal(await l.retryAfter('bob', 'x'), 30);
  advance(31);
  await l.recordFailure('bob', 'y');
  assert.equal(await l.retryAfter('bob', 'x'), 60);
  advance(61);
  await l.recordFailure('bob', 'z');
  assert.equal(await l.retryAfter('bob', 'x'), 120);
  for (let i = 0; i < 10; i++) await l.recordFailure('bob', `w${i}`);
  assert.equal(await l.retryAfter('bob', 'x'), 600);
});

test('an address locks after its own limit across many usernames (password spraying)', async () => {
  const { l } = limiter();
  for (let i = 0; i < 9; i++) await l.recordFailure(`user${i}`, '6.6.6.6');
  assert.equal(await l.retryAfter('fresh', '6.6.6.6'), 0);
  await l.recordFailure('user9', '6.6.6.6');
  assert.equal(await l.retryAfter('fresh', '6.6.6.6'), 30);
  assert.equal(await l.retryAfter('fresh', '7.7.7.7'), 0);
  await l.recordSuccess('fresh');
  assert.equal(await l.retryAfter('fresh', '6.6.6.6'), 30, 'a success does not clear the address');
});

test('success clears the username count; old failures fall out of the window', async () => {
  const { l, advance } = limiter();
  await l.recordFailure('bob', 'a');
  await l.recordFailure('bob', 'a');
  await l.recordSuccess('bob');
  await l.recordFailure('bob', 'a');
  await l.recordFailure('bob', 'a');
  assert.equal(await l.retryAfter('bob', 'b'), 0);
  advance(901);
  await l.recordFailure('bob', 'a');
  assert.equal(await l.retryAfter('bob', 'b'), 0, 'the two before the window no longer count');
});

describe('persisted in the state store', () => {
  let dir: string;
  let state: StateStore;
  before(async () => {
    dir = makeTempDir('login-limiter');
    state = await StateStore.open(dir);
  });
  after(async () => {
    await state.close();
    removeTempDir(dir);
  });
  const limits = { maxFailuresPerUser: 3, maxFailuresPerIp: 10, lockoutSeconds: 30, maxLockoutSeconds: 600, windowSeconds: 900 };

  test('a lockout and a partial count survive a new limiter on the same store (a restart)', async () => {
    let t = 5_000_000;
    const first = new LoginLimiter(limits, () => t, stateStoreCounters(() => state));
    for (let i = 0; i < 3; i++) await first.recordFailure('mallory', '9.9.9.9');
    await first.recordFailure('eve', '8.8.8.8');
    assert.equal(await first.retryAfter('mallory', '1.1.1.1'), 30);

    t += 10_000;
    const restarted = new LoginLimiter(limits, () => t, stateStoreCounters(() => state));
    assert.equal(await restarted.retryAfter('mallory', '1.1.1.1'), 20, 'still locked, for what is left of it');
    await restarted.recordFailure('eve', '8.8.8.8');
    await restarted.recordFailure('eve', '8.8.8.8');
    assert.equal(await restarted.retryAfter('eve', '1.1.1.1'), 30, 'the count before the restart still counts');
    await restarted.recordSuccess('eve');
    const third = new LoginLimiter(limits, () => t, stateStoreCounters(() => state));
    assert.equal(await third.retryAfter('eve', '1.1.1.1'), 0, 'a success is persisted too');
  });

  test('concurrent failures of one key all count', async () => {
    const l = new LoginLimiter({ ...limits, maxFailuresPerUser: 20 }, () => 7_000_000, stateStoreCounters(() => state));
    await Promise.all(Array.from({ length: 20 }, () => l.recordFailure('burst', '5.5.5.5')));
    assert.equal(await l.retryAfter('burst', 'x'), 30);
    const fresh = new LoginLimiter({ ...limits, maxFailuresPerUser: 20 }, () => 7_000_000, stateStoreCounters(() => state));
    assert.equal(await fresh.retryAfter('burst', 'x'), 30, 'the stored counter has all 20');
  });

  test('prune deletes counters whose lock is over and window passed, and counts the rest', async () => {
    let t = 9_000_000;
    const l = new LoginLimiter(limits, () => t, stateStoreCounters(() => state));
    for (let i = 0; i < 3; i++) await l.recordFailure('locked-one', '4.4.4.4');
    await l.recordFailure('counting-one', '3.3.3.3');
    const before = await l.prune();
    assert.ok(before.locked >= 1 && before.counters >= 4, JSON.stringify(before));
    t += 901_000;
    const afterWindow = await l.prune();
    assert.ok(afterWindow.pruned >= 4, JSON.stringify(afterWindow));
    const keys: string[] = [];
    for await (const k of state.sublevel('loginAttempts').keys()) keys.push(k);
    assert.deepEqual(keys, [], 'nothing stale is left in the store');
    assert.equal(await new LoginLimiter(limits, () => t, stateStoreCounters(() => state)).retryAfter('locked-one', '4.4.4.4'), 0);
  });
});
