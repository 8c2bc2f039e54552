import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';
import { queryInterpreterRoutes } from './routes.js';

export function createQueryInterpreterService(deps: ServiceDeps): ServiceModule {
  return {
    id: 'query-interpreter',
    dependencies: ['stateStore'],
    routes: queryInterpreterRoutes(deps),
  };
}
