import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';
import { metadataCatalogRoutes } from './routes.js';

export function createMetadataCatalogService(deps: ServiceDeps): ServiceModule {
  return {
    id: 'metadata-catalog',
    dependencies: ['stateStore', 'wal'],
    routes: metadataCatalogRoutes(deps),
  };
}
