// The query path's moving parts, assembled by boot and handed to the services
// that speak queries. Two pieces, so a service that only plans (the CBO, the
// interpreter) does not pull in execution:
// - the planner: parser, binder and optimizer over the catalog, with column
//   statistics and cost weights (shared through the state store);
// - the executor: runs physical plans on the engine, and the registry of
//   running queries that /query/status, listing and cancel read.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { AppConfig } from '../platform/config/load-config.js';
import type { ClickHouseEngine } from '../storage/clickhouse/clickhouse-engine.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { CboConfigStore } from './cbo/cbo-config.js';
import { ColumnStatsStore } from './column-stats.js';
import { QueryExecutor } from './executor.js';
import { PlannerMetrics, QueryMetrics } from './metrics.js';
import { QueryPlanner } from './query-planner.js';
import { CLIENT_GONE, QueryRegistry } from './query-registry.js';
import { FreshnessGate, type AppliedLsnSource } from './freshness.js';
import type { GenContext } from './sql-generator.js';

export interface PlannerRuntime {
  planner: QueryPlanner;
  columnStats: ColumnStatsStore;
  cboConfig: CboConfigStore;
  /** How generated SQL names a tenant's tables and Parquet files. */
  genContext(tenant: string): GenContext;
  stop(): void;
}

export function createPlannerRuntime(deps: {
  settings: AppConfig['query'];
  parquetRoot: string;
  catalog: CatalogStore;
  engine: ClickHouseEngine;
  tables: TenantTables;
  registry: Registry;
  logger: Logger;
}): PlannerRuntime {
  const logger = deps.logger.child({ component: 'query' });
  const columnStats = new ColumnStatsStore({
    catalog: () => deps.catalog,
    engine: () => deps.engine,
    tables: () => deps.tables,
    logger,
  });
  const cboConfig = new CboConfigStore(() => deps.catalog);
  const planner = new QueryPlanner({
    catalog: () => deps.catalog,
    columnStats,
    config: cboConfig,
    engineKind: () => deps.engine.kind,
  });
  const metrics = new PlannerMetrics(deps.registry);
  planner.onPlanned = (p) => {
    metrics.partitionsPruned.inc(p.partitions.pruned);
    const visit = (n: typeof p.tree) => {
      if (n.op === 'scan') metrics.scans.inc({ source: n.source });
      else {
        visit(n.left);
        visit(n.right);
      }
    };
    visit(p.tree);
  };
  columnStats.start(deps.settings.statsRefreshMs);
  return {
    planner,
    columnStats,
    cboConfig,
    genContext: (tenant) => ({ tenant, tableName: (t) => deps.tables.tableName(tenant, t), parquetRoot: deps.parquetRoot }),
    stop: () => columnStats.stop(),
  };
}

export interface ExecutorRuntime {
  executor: QueryExecutor;
  registry: QueryRegistry;
  /** Cancels every running query (shutdown). */
  stop(): void;
}

export function createExecutorRuntime(deps: {
  settings: AppConfig['query'];
  parquetRoot: string;
  planner: QueryPlanner;
  engine: ClickHouseEngine;
  tables: TenantTables;
  /** What was acknowledged and what is applied: read-after-write (freshness.ts). */
  applied: AppliedLsnSource;
  registry: Registry;
  logger: Logger;
}): ExecutorRuntime {
  const { settings } = deps;
  // The gauge reads the registry at scrape time, after both exist.
  const metrics: QueryMetrics = new QueryMetrics(deps.registry, () => registry.list({ state: 'running' }).length);
  const registry = new QueryRegistry({ maxConcurrentPerTenant: settings.maxConcurrentPerTenant }, (info) => {
    metrics.queries.inc({ via: info.via, state: info.state });
    metrics.seconds.observe({ via: info.via }, info.elapsedMs / 1000);
    metrics.rows.inc({ via: info.via }, info.rows);
    if (info.state === 'cancelled' && info.error === CLIENT_GONE) metrics.streamsCut.inc({ via: info.via, format: info.format });
  });
  const freshness = new FreshnessGate({
    source: deps.applied,
    maxWaitMs: settings.freshnessWaitMs,
    onWait: (seconds, outcome) => metrics.freshnessWait.observe({ outcome }, seconds),
  });
  const executor = new QueryExecutor({
    planner: deps.planner,
    registry,
    engine: () => deps.engine,
    tables: () => deps.tables,
    parquetRoot: deps.parquetRoot,
    defaultTimeoutMs: settings.timeoutMs,
    maxTimeoutMs: settings.maxTimeoutMs,
    logger: deps.logger.child({ component: 'query' }),
    freshness,
  });
  return { executor, registry, stop: () => registry.abortAll() };
}
