import type { AuthRuntime } from '../../platform/auth/auth-runtime.js';
import type { ServiceDefinition } from '../../platform/service.js';
import { authGatewayRoutes } from './routes.js';

export interface AuthGatewayDeps {
  auth: AuthRuntime;
}

export function createAuthGatewayService(deps: AuthGatewayDeps): ServiceDefinition {
  return {
    id: 'auth-gateway',
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
