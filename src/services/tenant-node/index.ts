import type { Applier } from '../../applier/applier.js';
import type { RetentionDeps } from '../../applier/retention.js';
import type { CatalogStore } from '../../catalog/catalog-store.js';
import type { IngestPath } from '../../ingest/ingest-path.js';
import type { ApprovalStore } from '../../auth/governance/approval-store.js';
import type { TenantStore } from '../../auth/tenant-store.js';
import type { LeaseRequirement } from '../../platform/http/route.js';
import type { ServiceDefinition } from '../../platform/service.js';
import type { QueryExecutor } from '../../query/executor.js';
import type { RecordSources } from '../../records/record-reader.js';
import { tenantNodeRoutes } from './routes.js';

export interface TenantNodeDeps {
  ingest: IngestPath;
  /** Applied and pending records, for GET /data. */
  records: RecordSources;
  catalog: CatalogStore;
  applier: Applier;
  /** What a retention sweep drops from. */
  retention: RetentionDeps;
  /** A worker's sweep must hold the tenant's leased retention-sweep job. */
  sweepLease: LeaseRequirement;
  /** Retention settings of tenants (how deep a worker may sweep). */
  tenants: Pick<TenantStore, 'get'>;
  /** Sweeps by an admin wait for a second admin when APPROVAL_REQUIRED_FOR says so. */
  approvals: ApprovalStore;
  executor: QueryExecutor;
  maxJsonRows: number;
}

export function createTenantNodeService(deps: TenantNodeDeps): ServiceDefinition {
  return {
    id: 'tenant-node',
    routes: tenantNodeRoutes(deps),
    health() {
      const applier = deps.applier.health;
      return applier.stalled ? { status: 'degraded', reasons: [`applier retrying: ${applier.lastError ?? 'unknown error'}`] } : { status: 'ok' };
    },
  };
}
