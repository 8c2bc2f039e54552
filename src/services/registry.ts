// Which services exist and how each is built. SERVICES picks a subset, so one
// process runs all seven in development and one each when split.
import type { ServiceId } from '../platform/config/schema.js';
import type { ServiceModule } from '../platform/service.js';
import { createAuthGatewayService } from './auth-gateway/index.js';
import { createCboEngineService } from './cbo-engine/index.js';
import { createMetadataCatalogService } from './metadata-catalog/index.js';
import { createMonitoringService } from './monitoring/index.js';
import { createOperationNodeService } from './operation-node/index.js';
import { createQueryInterpreterService } from './query-interpreter/index.js';
import type { ServiceDeps } from './service-deps.js';
import { withWorkers } from '../workers/index.js';
import { createTenantNodeService } from './tenant-node/index.js';

const FACTORIES: Record<ServiceId, (deps: ServiceDeps) => ServiceModule> = {
  'auth-gateway': createAuthGatewayService,
  'tenant-node': createTenantNodeService,
  'operation-node': createOperationNodeService,
  'cbo-engine': createCboEngineService,
  'metadata-catalog': createMetadataCatalogService,
  monitoring: createMonitoringService,
  'query-interpreter': createQueryInterpreterService,
};

// Remote workers: designated routes forwarded in distributed mode, worker/job callbacks on the Operation Node.
export const SERVICE_FACTORIES = Object.fromEntries(
  Object.entries(FACTORIES).map(([id, factory]) => [id, withWorkers(id as ServiceId, factory)]),
) as Record<ServiceId, (deps: ServiceDeps) => ServiceModule>;
