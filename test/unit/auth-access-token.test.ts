import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { AccessTokens, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../src/auth/access-token.js';

const SECRET = 'unit-test-secret-unit-test-secret-0123456789';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const base = { role: 'writer', tenant: 'acme', sid: 's-1', kind: 'user', iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, sub: 'alice' };

test('a signed token verifies to its claims, 15 minutes by default', async () => {
  const tokens = new AccessTokens(SECRET, 900);
  const token = await tokens.sign({ subject: 'alice', role: 'writer', tenant: 'acme', sessionId: 's-1' });
  const r = await tokens.verify(token);
  assert.ok(r.ok);
  assert.equal(r.claims.sub, 'alice');
  assert.equal(r.claims.tenant, 'acme');
  assert.equal(r.claims.sid, 's-1');
  assert.equal(r.claims.exp - r.claims.iat, 900);
});

test('expired, not yet valid and future-issued tokens are told apart', async () => {
  const tokens = new AccessTokens(SECRET, 900);
  const expired = await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now() - 2000).setExpirationTime(now() - 1000).sign(key);
  assert.deepEqual(await tokens.verify(expired), { ok: false, reason: 'expired' });
  const nbf = await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setNotBefore(now() + 600).setExpirationTime(now() + 1200).sign(key);
  assert.deepEqual(await tokens.verify(nbf), { ok: false, reason: 'not_yet_valid' });
  const iat = await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now() + 600).setExpirationTime(now() + 1200).sign(key);
  assert.deepEqual(await tokens.verify(iat), { ok: false, reason: 'not_yet_valid' });
});

test('forgeries are invalid: alg none, RS256, other HMAC, wrong secret, tampering, missing claims', async () => {
  const tokens = new AccessTokens(SECRET, 900);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { ...base, iat: now(), exp: now() + 300 };
  const { privateKey } = await generateKeyPair('RS256');
  const forged = [
    `${b64({ alg: 'none' })}.${b64(claims)}.`,
    await new SignJWT(base).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime('5m').sign(privateKey),
    await new SignJWT(base).setProtectedHeader({ alg: 'HS512' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(SECRET.repeat(2))),
    await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode('another-secret-another-secret-0123')),
    await new SignJWT({ ...base, iss: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key),
    await new SignJWT({ ...base, aud: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key),
    await new SignJWT({ ...base, sid: undefined }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key),
    await new SignJWT({ ...base, role: 'root' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key),
    await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key),
    'not-a-jwt',
    '',
  ];
  const good = await tokens.sign({ subject: 'alice', role: 'writer', tenant: 'acme', sessionId: 's-1' });
  const [h, , s] = good.split('.');
  forged.push(`${h}.${b64({ ...claims, tenant: 'other' })}.${s}`);
  for (const [i, t] of forged.entries()) assert.deepEqual(await tokens.verify(t), { ok: false, reason: 'invalid' }, `forgery ${i}`);
});

test('operator tokens and a member’s tenants round-trip; an unknown role or tenant role is invalid', async () => {
  const tokens = new AccessTokens(SECRET, 900);
  const op = await tokens.verify(await tokens.sign({ subject: 'ops', role: 'operator', sessionId: 's-2' }));
  assert.ok(op.ok);
  assert.equal(op.claims.role, 'operator');
  const member = await tokens.verify(await tokens.sign({ subject: 'm', role: 'writer', tenants: { a: 'reader', b: 'writer' }, sessionId: 's-3' }));
  assert.ok(member.ok);
  assert.deepEqual(member.claims.tenants, { a: 'reader', b: 'writer' });
  for (const bad of [{ ...base, role: 'superuser' }, { ...base, tenants: { a: 'owner' } }, { ...base, tenants: ['a'] }]) {
    const token = await new SignJWT(bad).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key);
    assert.deepEqual(await tokens.verify(token), { ok: false, reason: 'invalid' }, JSON.stringify(bad));
  }
});
