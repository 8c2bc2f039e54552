import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSecret, verifySecret } from '../../src/auth/password-hash.js';

const FAST = { N: 1 << 10, r: 8, p: 1 };

test('a scrypt hash verifies its secret and nothing else', async () => {
  const stored = await hashSecret('correct horse battery staple', FAST);
  assert.match(stored, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.equal(await verifySecret('correct horse battery staple', stored), true);
  assert.equal(await verifySecret('correct horse battery stapl', stored), false);
  assert.equal(await verifySecret('', stored), false);
  assert.ok(!stored.includes('correct'), 'the secret is not in the stored form');
});

test('the same secret hashes differently each time (salted)', async () => {
  const a = await hashSecret('same', FAST);
  const b = await hashSecret('same', FAST);
  assert.notEqual(a, b);
  assert.equal(await verifySecret('same', a), true);
  assert.equal(await verifySecret('same', b), true);
});

test('the default parameters are slow (N = 2^14) and still verify', async () => {
  const stored = await hashSecret('pw');
  assert.match(stored, /^scrypt\$16384\$8\$1\$/);
  assert.equal(await verifySecret('pw', stored), true);
});

test('malformed stored values never verify and never throw', async () => {
  for (const bad of ['', 'plain', 'scrypt$1$2$3', 'bcrypt$1024$8$1$aaaa$bbbb', 'scrypt$x$8$1$aaaa$bbbb', 'scrypt$1024$8$1$aaaa$short']) {
    assert.equal(await verifySecret('pw', bad), false, bad);
  }
});
