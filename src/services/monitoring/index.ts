import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';
import { monitoringRoutes } from './routes.js';

export function createMonitoringService(deps: ServiceDeps): ServiceModule {
  return {
    id: 'monitoring',
    dependencies: ['stateStore'],
    routes: monitoringRoutes(deps),
  };
}
