import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';

export function createOperationNodeService(_deps: ServiceDeps): ServiceModule {
  return {
    id: 'operation-node',
    dependencies: ['stateStore', 'clickhouse'],
    routes: [],
  };
}
