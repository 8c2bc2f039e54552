import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';
import { authGatewayRoutes } from './routes.js';

export function createAuthGatewayService(deps: ServiceDeps): ServiceModule {
  return {
    id: 'auth-gateway',
    dependencies: ['stateStore'],
    routes: authGatewayRoutes(deps),
    async start() {
      await deps.auth.ensureBootstrapped();
      // Session and login-counter upkeep runs where logins happen.
      deps.auth.maintenance.start();
    },
    async stop() {
      await deps.auth.maintenance.stop();
    },
  };
}
