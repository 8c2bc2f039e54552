// The monitoring service: /metrics, /alerts, /logs and the dashboard. Alert
// evaluation and the metric history are the alerting module's (src/monitoring);
// this service serves them.
import type { Registry } from 'prom-client';
import type { CatalogStore } from '../../catalog/catalog-store.js';
import type { AuthRuntime } from '../../auth/auth-runtime.js';
import type { AlertingRuntime } from '../../monitoring/alerting.js';
import type { AppConfig } from '../../platform/config/load-config.js';
import type { HealthBoard } from '../../platform/health-board.js';
import type { LogBuffer } from '../../platform/log-buffer.js';
import type { QueryLog } from '../../query/query-log/query-log.js';
import type { QueryRegistry } from '../../query/query-registry.js';
import type { ServiceDefinition } from '../../platform/service.js';
import type { ClickHouseCluster } from '../../storage/clickhouse/cluster-runtime.js';
import { DashboardAssets } from './dashboard-assets.js';
import { monitoringRoutes } from './routes.js';

export interface MonitoringDeps {
  config: Pick<AppConfig, 'host' | 'ports' | 'services' | 'version' | 'environment' | 'monitoring'>;
  registry: Registry;
  logBuffer: LogBuffer;
  /** Health of every service of this process. */
  healthBoard: HealthBoard;
  startedAt: number;
  alerting: AlertingRuntime;
  /** Tenants' tables, for the dashboard's tenant list. */
  catalog: CatalogStore;
  /** Pending approvals and recent audit entries, for the dashboard. */
  governance: Pick<AuthRuntime, 'approvals' | 'audit'>;
  /** Cluster mode, where this process runs the data path: shards and replicas for the dashboard. */
  cluster?: Pick<ClickHouseCluster, 'lastStatus'>;
  /** The query console's running queries, where this process executes queries. */
  queries?: QueryRegistry;
  /** The console's query history, where this process writes the query log. */
  queryLog?: Pick<QueryLog, 'history'>;
}

export function createMonitoringService(deps: MonitoringDeps): ServiceDefinition {
  return {
    id: 'monitoring',
    routes: monitoringRoutes(deps, new DashboardAssets()),
    health() {
      const failing = deps.alerting.problems();
      return failing.length === 0 ? { status: 'ok' } : { status: 'degraded', reasons: failing };
    },
  };
}
