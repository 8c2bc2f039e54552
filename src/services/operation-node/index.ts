import type { ServiceModule } from '../../platform/service.js';
import { queryRuntime } from '../../query/query-runtime.js';
import type { ServiceDeps } from '../service-deps.js';
import { operationNodeRoutes } from './query-routes.js';

export function createOperationNodeService(deps: ServiceDeps): ServiceModule {
  return {
    id: 'operation-node',
    dependencies: ['stateStore', 'clickhouse'],
    routes: operationNodeRoutes(deps),
    async start() {
      queryRuntime(deps).start();
    },
    async stop() {
      queryRuntime(deps).stop();
    },
  };
}
