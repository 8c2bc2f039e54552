import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';

export function createAuthGatewayService(_deps: ServiceDeps): ServiceModule {
  return {
    id: 'auth-gateway',
    dependencies: ['stateStore'],
    routes: [],
  };
}
