// The tenant operations behind the admin API and its approvals: changing a
// tenant's settings, and deleting a tenant with everything it owns. Routes
// only decide whether to run them now or after a second admin's approval.
import { purgeTenant, type TenantPurgeResult } from '../../applier/tenant-purge.js';
import type { TenantRecord } from '../../auth/tenant-store.js';
import { Errors } from '../../platform/errors.js';
import { isValidTenantId } from '../../platform/http/tenant-id.js';
import type { AuthGatewayDeps, TenantDataOps } from './index.js';

export interface TenantPatch {
  name?: string;
  limits?: TenantRecord['limits'];
  /** null removes the retention (keep forever). */
  retentionDays?: number | null;
  disabled?: boolean;
}

export async function tenantOr404(deps: AuthGatewayDeps, id: string): Promise<TenantRecord> {
  const t = isValidTenantId(id) ? await deps.auth.tenants.get(id) : null;
  if (!t) throw Errors.notFound(`tenant ${id}`);
  return t;
}

/** Whether a patch changes how long the tenant's data is kept (retention-change). */
export function changesRetention(tenant: TenantRecord, patch: TenantPatch): boolean {
  return patch.retentionDays !== undefined && (patch.retentionDays ?? undefined) !== tenant.retentionDays;
}

export async function updateTenant(deps: AuthGatewayDeps, id: string, patch: TenantPatch): Promise<TenantRecord> {
  const tenant = await tenantOr404(deps, id);
  const updated: TenantRecord = {
    ...tenant,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
    limits: { ...tenant.limits, ...patch.limits },
    updatedAt: Date.now(),
  };
  if (patch.retentionDays === null) delete updated.retentionDays;
  else if (patch.retentionDays !== undefined) updated.retentionDays = patch.retentionDays;
  // The tenant store forgets its cached copy on put, so new limits apply to ingest at once.
  await deps.auth.tenants.put(updated);
  return updated;
}

export interface TenantDeletion extends TenantPurgeResult {
  tenant: string;
  apiKeysRevoked: number;
  membersUpdated: number;
  sessionsRevoked: number;
}

/**
 * Deletes a tenant: its credentials stop first (disabled), then its data goes
 * from every sink, then its API keys, memberships and sessions, and last the
 * tenant itself. Safe to run again after a failure part-way.
 */
export async function deleteTenant(deps: AuthGatewayDeps, id: string): Promise<TenantDeletion> {
  const tenant = await tenantOr404(deps, id);
  if (!tenant.disabled) await deps.auth.tenants.put({ ...tenant, disabled: true, updatedAt: Date.now() });
  const data = await purgeTenant(tenantData(deps).purge, id);
  const credentials = await deps.auth.removeTenantCredentials(id);
  await deps.auth.tenants.delete(id);
  return { tenant: id, ...data, ...credentials };
}

/** The data path's operations, or 503 naming why: this process does not run it. */
export function tenantData(deps: AuthGatewayDeps): TenantDataOps {
  if (!deps.tenantData) throw Errors.notReady('tenant data (this process runs no tenant-node: add it to SERVICES here)');
  return deps.tenantData;
}
