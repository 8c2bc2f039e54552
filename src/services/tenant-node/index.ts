import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';
import { tenantNodeRoutes } from './routes.js';

export function createTenantNodeService(deps: ServiceDeps): ServiceModule {
  return {
    id: 'tenant-node',
    dependencies: ['stateStore', 'wal', 'clickhouse'],
    routes: tenantNodeRoutes(deps),
    health() {
      if (!deps.resources.hasDataPath) return { status: 'ok' };
      const applier = deps.resources.dataPath.applier.health;
      return applier.stalled ? { status: 'degraded', reasons: [`applier retrying: ${applier.lastError ?? 'unknown error'}`] } : { status: 'ok' };
    },
  };
}
