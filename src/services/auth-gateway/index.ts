import type { RetentionDeps } from '../../applier/retention.js';
import type { TenantPurgeDeps } from '../../applier/tenant-purge.js';
import type { AuthRuntime } from '../../auth/auth-runtime.js';
import type { AppConfig } from '../../platform/config/load-config.js';
import type { ServiceDefinition } from '../../platform/service.js';
import { authGatewayRoutes } from './routes.js';

/** The tenant data path, when it runs in this process: tenant delete and approved sweeps act on it. */
export interface TenantDataOps {
  purge: TenantPurgeDeps;
  retention: RetentionDeps;
}

export interface AuthGatewayDeps {
  auth: AuthRuntime;
  approvalSettings: AppConfig['auth']['approvals'];
  /** Absent when SERVICES leaves the data path out of this process: those operations answer 503. */
  tenantData?: TenantDataOps;
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
