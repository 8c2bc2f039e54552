// The query path over a catalog and an engine's tenant tables, built as the
// plane builds it (column statistics, optimizer weights, planner, executor),
// for tests and benches that run queries in process without a plane.
import type { Logger } from 'pino';
import type { CatalogStore } from '../../src/catalog/catalog-store.js';
import { CboConfigStore } from '../../src/query/cbo/cbo-config.js';
import { ColumnStatsStore } from '../../src/query/column-stats.js';
import { QueryExecutor } from '../../src/query/executor.js';
import { QueryPlanner } from '../../src/query/query-planner.js';
import { QueryRegistry } from '../../src/query/query-registry.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import type { TenantTables } from '../../src/storage/clickhouse/tenant-tables.js';

export interface QueryPathOptions {
  catalog: CatalogStore;
  engine: ClickHouseEngine;
  tables: TenantTables;
  parquetRoot: string;
  logger: Logger;
  maxConcurrentPerTenant?: number;
  defaultTimeoutMs?: number;
  maxTimeoutMs?: number;
}

export function queryPathOver(o: QueryPathOptions) {
  const columnStats = new ColumnStatsStore({ catalog: () => o.catalog, engine: () => o.engine, tables: () => o.tables, logger: o.logger });
  const config = new CboConfigStore(() => o.catalog);
  const planner = new QueryPlanner({ catalog: () => o.catalog, columnStats, config, engineKind: () => o.engine.kind });
  const executor = new QueryExecutor({
    planner,
    registry: new QueryRegistry({ maxConcurrentPerTenant: o.maxConcurrentPerTenant ?? 4 }),
    engine: () => o.engine,
    tables: () => o.tables,
    parquetRoot: o.parquetRoot,
    defaultTimeoutMs: o.defaultTimeoutMs ?? 30_000,
    maxTimeoutMs: o.maxTimeoutMs ?? 60_000,
    logger: o.logger,
  });
  return { columnStats, config, planner, executor };
}
