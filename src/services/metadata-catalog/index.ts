import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';

export function createMetadataCatalogService(_deps: ServiceDeps): ServiceModule {
  return {
    id: 'metadata-catalog',
    dependencies: ['stateStore'],
    routes: [],
  };
}
