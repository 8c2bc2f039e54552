// The query path's moving parts, built once per process from the shared
// resources: planner (with its plan cache and counters), column statistics,
// cost weights, registry of running queries and executor. The four services
// that speak queries (interpreter, CBO, operation node, tenant node) get the
// same instance, so a query started on one is visible to /query/status on
// another. Across processes they share only the state store (weights, stats).
import type { Logger } from 'pino';
import type { AppConfig } from '../platform/config/load-config.js';
import type { MetricsSetup } from '../platform/metrics/registry.js';
import type { SharedResources } from '../platform/resources.js';
import { CboConfigStore } from './cbo/cbo-config.js';
import { ColumnStatsStore } from './column-stats.js';
import { QueryExecutor } from './executor.js';
import { QueryMetrics } from './metrics.js';
import { QueryPlanner } from './query-planner.js';
import { QueryRegistry } from './query-registry.js';

export interface QueryRuntime {
  planner: QueryPlanner;
  executor: QueryExecutor;
  registry: QueryRegistry;
  columnStats: ColumnStatsStore;
  cboConfig: CboConfigStore;
  /** Starts the column-stats refresher (idempotent; counted per user). */
  start(): void;
  stop(): void;
}

const runtimes = new WeakMap<SharedResources, QueryRuntime>();

export function queryRuntime(deps: { config: AppConfig; resources: SharedResources; logger: Logger; metrics: MetricsSetup }): QueryRuntime {
  const existing = runtimes.get(deps.resources);
  if (existing) return existing;
  const { resources, config } = deps;
  const logger = deps.logger.child({ component: 'query' });
  const columnStats = new ColumnStatsStore({
    state: () => resources.stateStore,
    catalog: () => resources.dataPath.catalog,
    engine: () => resources.dataPath.engine,
    tables: () => resources.dataPath.tables,
    logger,
  });
  const cboConfig = new CboConfigStore(() => resources.stateStore);
  const planner = new QueryPlanner({
    catalog: () => resources.dataPath.catalog,
    columnStats,
    config: cboConfig,
    engineKind: () => resources.dataPath.engine.kind,
  });
  // The gauge reads the registry at scrape time, after both exist.
  const metrics: QueryMetrics = new QueryMetrics(deps.metrics.registry, () => registry.list({ state: 'running' }).length);
  const registry = new QueryRegistry({ maxConcurrentPerTenant: config.query.maxConcurrentPerTenant }, (info) => {
    metrics.queries.inc({ via: info.via, state: info.state });
    metrics.seconds.observe({ via: info.via }, info.elapsedMs / 1000);
    metrics.rows.inc({ via: info.via }, info.rows);
  });
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
  const executor = new QueryExecutor({
    planner,
    registry,
    engine: () => resources.dataPath.engine,
    tables: () => resources.dataPath.tables,
    parquetRoot: config.paths.parquetDir,
    defaultTimeoutMs: config.query.timeoutMs,
    maxTimeoutMs: config.query.maxTimeoutMs,
    logger,
  });
  let users = 0;
  const runtime: QueryRuntime = {
    planner,
    executor,
    registry,
    columnStats,
    cboConfig,
    start() {
      if (users++ === 0) columnStats.start(config.query.statsRefreshMs);
    },
    stop() {
      if (--users > 0) return;
      columnStats.stop();
      registry.abortAll();
    },
  };
  runtimes.set(resources, runtime);
  return runtime;
}
