// What each approvable operation does once a second admin approves it, from
// the parameters stored with the request. The same domain functions the
// routes call when no approval is needed.
import { sweepRetention } from '../../applier/retention.js';
import type { ApprovalRecord } from '../../auth/governance/approval-store.js';
import type { ApprovalAction } from '../../platform/config/schema.js';
import type { AuthGatewayDeps } from './index.js';
import { deleteTenant, tenantData, updateTenant, type TenantPatch } from './tenant-admin.js';

export type ApprovalRunner = (approval: ApprovalRecord) => Promise<Record<string, unknown>>;

export function approvalActions(deps: AuthGatewayDeps): Record<ApprovalAction, ApprovalRunner> {
  return {
    'tenant-delete': async (a) => ({ ...(await deleteTenant(deps, a.tenant)) }),
    'retention-change': async (a) => ({ tenant: await updateTenant(deps, a.tenant, a.params.patch as TenantPatch) }),
    'retention-sweep': async (a) => {
      const { before, table } = a.params as { before: number; table?: string };
      return { tenant: a.tenant, ...(await sweepRetention(tenantData(deps).retention, a.tenant, table, before)) };
    },
  };
}

/** Counts from an operation's result worth keeping in the audit entry of its approval. */
export function resultFacts(result: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (result && typeof result === 'object') {
    for (const [k, v] of Object.entries(result)) if (typeof v === 'number') out[k] = v;
  }
  return out;
}
