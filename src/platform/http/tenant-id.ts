// The tenant id is the one user string that reaches file paths and table
// names, so it is checked here, once, against a strict pattern, and against
// the caller: a credential of tenant A never names tenant B.
import type { Request } from 'express';
import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors.js';

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TABLE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isValidTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID_PATTERN.test(value);
}

/**
 * The tenant a request acts for. Admins, and workers (role service) on the
 * routes the auth guard lets them reach (policy 'service': job actions such as
 * retention sweeps), name the tenant with X-Tenant-Id (400 if absent or
 * malformed); everyone else acts for their own tenant: without the header they
 * get it, with another tenant's id they get 403.
 */
export function resolveTenant(req: Request, principal: Principal | undefined): string {
  const raw = req.headers['x-tenant-id'];
  if (principal && principal.role !== 'admin' && principal.role !== 'service') {
    if (!principal.tenant) throw Errors.forbidden(`a ${principal.role} credential belongs to no tenant`);
    if (raw !== undefined && !isValidTenantId(raw)) throw Errors.invalidTenantId();
    if (raw !== undefined && raw !== principal.tenant) throw Errors.forbidden(`this credential belongs to tenant ${principal.tenant}, not ${raw}`);
    req.tenantId = principal.tenant;
    return principal.tenant;
  }
  if (!isValidTenantId(raw)) throw Errors.invalidTenantId();
  req.tenantId = raw;
  return raw;
}

/** The validated, authorised tenant of a request; 400 for a malformed id, 403 for another tenant's. */
export function tenantIdOf(req: Request): string {
  return resolveTenant(req, req.principal);
}
