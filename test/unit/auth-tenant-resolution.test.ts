import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request } from 'express';
import type { Principal } from '../../src/platform/http/principal.js';
import { AppError } from '../../src/platform/errors.js';
import { consoleTenantOf, resolveTenant, tenantRoleOf } from '../../src/platform/http/tenant-id.js';

function req(tenantHeader?: string): Request {
  return { headers: tenantHeader === undefined ? {} : { 'x-tenant-id': tenantHeader } } as unknown as Request;
}

function statusOf(fn: () => unknown): number | string {
  try {
    return String(fn());
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err.status;
  }
}

const writerA: Principal = { subject: 'k1', role: 'writer', tenant: 'tenant-a', kind: 'apiKey' };
const admin: Principal = { subject: 'admin', role: 'admin', kind: 'user', sessionId: 's' };
const service: Principal = { subject: 'k2', role: 'service', kind: 'service' };

test('a tenant credential acts for its own tenant, with or without the header', () => {
  assert.equal(statusOf(() => resolveTenant(req(), writerA)), 'tenant-a');
  assert.equal(statusOf(() => resolveTenant(req('tenant-a'), writerA)), 'tenant-a');
});

test('a tenant credential naming another tenant is 403; a malformed id is 400', () => {
  assert.equal(statusOf(() => resolveTenant(req('tenant-b'), writerA)), 403);
  assert.equal(statusOf(() => resolveTenant(req('../tenant-a'), writerA)), 400);
  assert.equal(statusOf(() => resolveTenant(req('TENANT-A'), writerA)), 400);
});

test('admins and workers name the tenant and must name one', () => {
  assert.equal(statusOf(() => resolveTenant(req('tenant-b'), admin)), 'tenant-b');
  assert.equal(statusOf(() => resolveTenant(req(), admin)), 400);
  // Workers reach only 'service' routes (the guard refuses them tenant data routes),
  // where a job names the tenant it acts on.
  assert.equal(statusOf(() => resolveTenant(req('tenant-b'), service)), 'tenant-b');
  assert.equal(statusOf(() => resolveTenant(req(), service)), 400);
});

const member: Principal = { subject: 'multi', role: 'writer', tenants: { 'tenant-a': 'reader', 'tenant-b': 'writer' }, kind: 'user', sessionId: 's' };
const operator: Principal = { subject: 'ops', role: 'operator', kind: 'user', sessionId: 's' };

test('a member of several tenants names one of them; without the header it is 400, another tenant 403', () => {
  assert.equal(statusOf(() => resolveTenant(req('tenant-a'), member)), 'tenant-a');
  assert.equal(statusOf(() => resolveTenant(req('tenant-b'), member)), 'tenant-b');
  assert.equal(statusOf(() => resolveTenant(req(), member)), 400);
  assert.equal(statusOf(() => resolveTenant(req('tenant-c'), member)), 403);
  assert.equal(statusOf(() => resolveTenant(req('../tenant-a'), member)), 400);
});

test('the role a member has in the tenant it acts for', () => {
  assert.equal(tenantRoleOf(member, 'tenant-a'), 'reader');
  assert.equal(tenantRoleOf(member, 'tenant-b'), 'writer');
  assert.equal(tenantRoleOf(member, 'tenant-c'), undefined);
  assert.equal(tenantRoleOf(writerA, 'tenant-a'), 'writer');
  assert.equal(tenantRoleOf(admin, 'tenant-a'), undefined);
});

test('the query console: admins and operators see every tenant unless they name one; members only their own', () => {
  const withPrincipal = (p: Principal, header?: string) => Object.assign(req(header), { principal: p });
  assert.equal(consoleTenantOf(withPrincipal(operator)), undefined);
  assert.equal(consoleTenantOf(withPrincipal(operator, 'tenant-b')), 'tenant-b');
  assert.equal(consoleTenantOf(withPrincipal(admin)), undefined);
  assert.equal(consoleTenantOf(withPrincipal(writerA)), 'tenant-a');
  assert.equal(statusOf(() => consoleTenantOf(withPrincipal(writerA, 'tenant-b'))), 403);
  assert.equal(statusOf(() => consoleTenantOf(withPrincipal(operator, 'Not A Tenant'))), 400);
});
