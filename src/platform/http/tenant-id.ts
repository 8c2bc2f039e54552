// The tenant id is the one user string that reaches file paths and table
// names, so it is checked here, once, against a strict pattern, and against
// the caller: a credential of tenant A never names tenant B.
import type { Request } from 'express';
import { membershipsOf, type Principal, type TenantRole } from './principal.js';
import { Errors } from '../errors.js';

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TABLE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isValidTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID_PATTERN.test(value);
}

/**
 * The tenant a request acts for. Admins, operators (on the query console), and
 * workers (role service) on the routes the auth guard lets them reach (policy
 * 'service': job actions such as retention sweeps), name the tenant with
 * X-Tenant-Id (400 if absent or malformed). A member acts for one of its own
 * tenants: without the header it gets its only one (400 when it has several:
 * it must say which), with another tenant's id it gets 403.
 */
export function resolveTenant(req: Request, principal: Principal | undefined): string {
  const raw = req.headers['x-tenant-id'];
  if (principal && principal.role !== 'admin' && principal.role !== 'service' && principal.role !== 'operator') {
    const member = membershipsOf(principal);
    const ids = Object.keys(member);
    if (ids.length === 0) throw Errors.forbidden(`a ${principal.role} credential belongs to no tenant`);
    if (raw === undefined) {
      if (ids.length > 1) throw Errors.badRequest(`this credential belongs to ${ids.length} tenants (${ids.join(', ')}); name one with X-Tenant-Id`);
      req.tenantId = ids[0]!;
      return ids[0]!;
    }
    if (!isValidTenantId(raw)) throw Errors.invalidTenantId();
    if (!Object.hasOwn(member, raw)) {
      throw Errors.forbidden(ids.length === 1 ? `this credential belongs to tenant ${ids[0]}, not ${raw}` : `this credential is not a member of tenant ${raw}`);
    }
    req.tenantId = raw;
    return raw;
  }
  if (!isValidTenantId(raw)) throw Errors.invalidTenantId();
  req.tenantId = raw;
  return raw;
}

/** The member's role in the tenant it acts for (after resolveTenant); undefined for admin, operator and service. */
export function tenantRoleOf(principal: Principal, tenant: string): TenantRole | undefined {
  return Object.hasOwn(membershipsOf(principal), tenant) ? membershipsOf(principal)[tenant] : undefined;
}

/**
 * The tenant a query-console request is about: a member's own (as resolveTenant),
 * or for admins and operators the X-Tenant-Id tenant if given, else undefined
 * (every tenant).
 */
export function consoleTenantOf(req: Request): string | undefined {
  const p = req.principal;
  if (p && (p.role === 'admin' || p.role === 'operator') && req.headers['x-tenant-id'] === undefined) return undefined;
  return resolveTenant(req, p);
}

/** The validated, authorised tenant of a request; 400 for a malformed id, 403 for another tenant's. */
export function tenantIdOf(req: Request): string {
  return resolveTenant(req, req.principal);
}
