import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginLimiter } from '../../src/platform/auth/login-limiter.js';

function limiter() {
  let t = 1_000_000;
  const l = new LoginLimiter({ maxFailuresPerUser: 3, maxFailuresPerIp: 10, lockoutSeconds: 30, maxLockoutSeconds: 600, windowSeconds: 900 }, () => t);
  return { l, advance: (s: number) => (t += s * 1000) };
}

test('a username locks after max failures, for the lockout time', () => {
  const { l, advance } = limiter();
  l.recordFailure('bob', '1.1.1.1');
  l.recordFailure('bob', '1.1.1.1');
  assert.equal(l.retryAfter('bob', '1.1.1.1'), 0);
  l.recordFailure('bob', '1.1.1.1');
  assert.equal(l.retryAfter('bob', '1.1.1.1'), 30);
  assert.equal(l.retryAfter('bob', '2.2.2.2'), 30, 'from any address');
  assert.equal(l.retryAfter('alice', '1.1.1.1'), 0, 'other users are not locked');
  advance(31);
  assert.equal(l.retryAfter('bob', '1.1.1.1'), 0);
});

test('each failure past the limit doubles the lockout, up to the cap', () => {
  const { l, advance } = limiter();
  for (let i = 0; i < 3; i++) l.recordFailure('bob', `10.0.0.${i}`);
  assert.equal(l.retryAfter('bob', 'x'), 30);
  advance(31);
  l.recordFailure('bob', 'y');
  assert.equal(l.retryAfter('bob', 'x'), 60);
  advance(61);
  l.recordFailure('bob', 'z');
  assert.equal(l.retryAfter('bob', 'x'), 120);
  for (let i = 0; i < 10; i++) l.recordFailure('bob', `w${i}`);
  assert.equal(l.retryAfter('bob', 'x'), 600);
});

test('an address locks after its own limit across many usernames (password spraying)', () => {
  const { l } = limiter();
  for (let i = 0; i < 9; i++) l.recordFailure(`user${i}`, '6.6.6.6');
  assert.equal(l.retryAfter('fresh', '6.6.6.6'), 0);
  l.recordFailure('user9', '6.6.6.6');
  assert.equal(l.retryAfter('fresh', '6.6.6.6'), 30);
  assert.equal(l.retryAfter('fresh', '7.7.7.7'), 0);
  l.recordSuccess('fresh');
  assert.equal(l.retryAfter('fresh', '6.6.6.6'), 30, 'a success does not clear the address');
});

test('success clears the username count; old failures fall out of the window', () => {
  const { l, advance } = limiter();
  l.recordFailure('bob', 'a');
  l.recordFailure('bob', 'a');
  l.recordSuccess('bob');
  l.recordFailure('bob', 'a');
  l.recordFailure('bob', 'a');
  assert.equal(l.retryAfter('bob', 'b'), 0);
  advance(901);
  l.recordFailure('bob', 'a');
  assert.equal(l.retryAfter('bob', 'b'), 0, 'the two before the window no longer count');
});
