import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';

export function createQueryInterpreterService(_deps: ServiceDeps): ServiceModule {
  return {
    id: 'query-interpreter',
    dependencies: ['stateStore'],
    routes: [],
  };
}
