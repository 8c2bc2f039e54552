import type { ServiceModule } from '../../platform/service.js';
import { queryRuntime } from '../../query/query-runtime.js';
import type { ServiceDeps } from '../service-deps.js';
import { cboEngineRoutes } from './routes.js';

export function createCboEngineService(deps: ServiceDeps): ServiceModule {
  return {
    id: 'cbo-engine',
    dependencies: ['stateStore'],
    routes: cboEngineRoutes(deps),
    async start() {
      queryRuntime(deps).start();
    },
    async stop() {
      queryRuntime(deps).stop();
    },
  };
}
