// The tenant id is the one user string that reaches file paths and table
// names, so it is checked here, once, against a strict pattern.
import type { Request } from 'express';
import { Errors } from '../errors.js';

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TABLE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isValidTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID_PATTERN.test(value);
}

/** The validated X-Tenant-Id of a request; 400 for anything else. */
export function tenantIdOf(req: Request): string {
  const raw = req.headers['x-tenant-id'];
  if (!isValidTenantId(raw)) throw Errors.invalidTenantId();
  req.tenantId = raw;
  return raw;
}
