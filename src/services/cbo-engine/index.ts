import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';

export function createCboEngineService(_deps: ServiceDeps): ServiceModule {
  return {
    id: 'cbo-engine',
    dependencies: ['stateStore'],
    routes: [],
  };
}
