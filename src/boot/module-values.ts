// What each module of the graph provides once started, by module name. A
// module's start() receives exactly the values of the modules it declares in
// `needs` (typed by defineModule): no lookup object, no singletons.
import type { RunningApplier } from '../applier/running-applier.js';
import type { RetentionScheduler } from '../applier/retention-scheduler.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { IngestPath } from '../ingest/ingest-path.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import type { AlertingRuntime } from '../monitoring/alerting.js';
import type { AuthRuntime } from '../auth/auth-runtime.js';
import type { AppConfig } from '../platform/config/load-config.js';
import type { ServiceId } from '../platform/config/schema.js';
import type { HealthBoard } from '../platform/health-board.js';
import type { Observability } from '../platform/observability.js';
import type { Readiness } from '../platform/readiness.js';
import type { ServiceDefinition } from '../platform/service.js';
import type { StateStore } from '../platform/state-store.js';
import type { QueryLog } from '../query/query-log/query-log.js';
import type { ExecutorRuntime, PlannerRuntime } from '../query/query-runtime.js';
import type { EngineConnection } from '../storage/clickhouse/engine-connection.js';
import type { TenantSinks } from '../storage/tenant-sinks.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import type { WorkersRuntime } from '../workers/worker-runtime.js';
import type { ModuleHealth, ModuleSpec } from './module-graph.js';

/** What boot itself hands the modules: the parsed config and the process-wide views services report into. */
export interface BootContext {
  config: AppConfig;
  startedAt: number;
  readiness: Readiness;
  healthBoard: HealthBoard;
}

export interface ModuleValues extends Record<ServiceId, ServiceDefinition> {
  observability: Observability;
  stateStore: StateStore;
  auth: AuthRuntime;
  catalog: { store: CatalogStore; schemas: TableSchemas };
  wal: WriteAheadLog;
  clickhouse: EngineConnection;
  sinks: TenantSinks;
  ingest: IngestPath;
  applier: RunningApplier;
  retention: RetentionScheduler;
  planner: PlannerRuntime;
  queryLog: QueryLog;
  executor: ExecutorRuntime;
  workers: WorkersRuntime;
  alerting: AlertingRuntime;
}

export type ModuleName = keyof ModuleValues;

/** Declares a module whose start() sees the values of its `needs`, typed. */
export function defineModule<N extends ModuleName, const D extends readonly ModuleName[], const U extends readonly ModuleName[] = []>(spec: {
  name: N;
  needs: D;
  /** Used when present in this boot, never pulled in: absent ones are undefined. */
  uses?: U;
  start(deps: Pick<ModuleValues, D[number]> & Partial<Pick<ModuleValues, U[number]>>): Promise<ModuleValues[N]> | ModuleValues[N];
  stop?(value: ModuleValues[N]): Promise<void> | void;
  health?(value: ModuleValues[N]): ModuleHealth;
  stopTimeoutMs?: number;
}): ModuleSpec<ModuleName> {
  return spec as unknown as ModuleSpec<ModuleName>;
}
