import { RetentionScheduler } from '../../applier/retention-scheduler.js';
import type { ServiceModule } from '../../platform/service.js';
import { enqueueJob, hasWorkerFor } from '../../workers/index.js';
import type { ServiceDeps } from '../service-deps.js';
import { tenantNodeRoutes } from './routes.js';

export function createTenantNodeService(deps: ServiceDeps): ServiceModule {
  const retention = new RetentionScheduler({
    dataPath: () => deps.resources.dataPath,
    tenants: () => deps.auth.tenants.list(),
    // In distributed mode a worker that takes retention jobs does the sweep (it calls back POST /data/retention/sweep).
    delegate: async (tenant, before) => {
      if (!deps.config.workers.distributedMode || !hasWorkerFor(deps, 'retention-sweep')) return false;
      await enqueueJob(deps, 'retention-sweep', { tenant, before });
      return true;
    },
    logger: deps.logger.child({ component: 'retention' }),
    intervalMs: deps.config.retention.intervalMs,
    audit: deps.auth.audit,
  });
  return {
    id: 'tenant-node',
    dependencies: ['stateStore', 'wal', 'clickhouse'],
    routes: tenantNodeRoutes(deps),
    async start() {
      retention.start();
    },
    async stop() {
      await retention.stop();
    },
    health() {
      if (!deps.resources.hasDataPath) return { status: 'ok' };
      const applier = deps.resources.dataPath.applier.health;
      return applier.stalled ? { status: 'degraded', reasons: [`applier retrying: ${applier.lastError ?? 'unknown error'}`] } : { status: 'ok' };
    },
  };
}
