import type { Applier } from '../../applier/applier.js';
import type { RetentionDeps } from '../../applier/retention.js';
import type { CatalogStore } from '../../catalog/catalog-store.js';
import type { IngestPath } from '../../ingest/ingest-path.js';
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
