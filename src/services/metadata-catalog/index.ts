import type { Applier } from '../../applier/applier.js';
import type { CatalogStore } from '../../catalog/catalog-store.js';
import type { ServiceDefinition } from '../../platform/service.js';
import type { WriteAheadLog } from '../../storage/wal/index.js';
import type { TableLayout } from './indexes.js';
import { metadataCatalogRoutes } from './routes.js';

export interface MetadataCatalogDeps {
  catalog: CatalogStore;
  /** For /metadata/stats: the applied checkpoint and the WAL's last LSN. */
  applier: Pick<Applier, 'checkpoint'>;
  wal: Pick<WriteAheadLog, 'lastLsn'>;
  /** For /metadata/indexes: how ClickHouse tables are laid out (cluster mode differs); one server's by default. */
  tableLayout?: TableLayout;
}

export function createMetadataCatalogService(deps: MetadataCatalogDeps): ServiceDefinition {
  return { id: 'metadata-catalog', routes: metadataCatalogRoutes(deps) };
}
