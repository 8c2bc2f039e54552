import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';

export function createTenantNodeService(_deps: ServiceDeps): ServiceModule {
  return {
    id: 'tenant-node',
    dependencies: ['stateStore', 'wal', 'clickhouse'],
    routes: [],
  };
}
