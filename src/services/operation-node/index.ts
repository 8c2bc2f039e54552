import type { AuditLog } from '../../auth/governance/audit-log.js';
import type { ServiceDefinition } from '../../platform/service.js';
import type { QueryLog } from '../../query/query-log/query-log.js';
import type { ExecutorRuntime } from '../../query/query-runtime.js';
import type { ClickHouseEngine } from '../../storage/clickhouse/clickhouse-engine.js';
import type { ClickHouseCluster } from '../../storage/clickhouse/cluster-runtime.js';
import type { WorkersRuntime } from '../../workers/worker-runtime.js';
import { operationNodeRoutes } from './routes.js';

export interface OperationNodeDeps {
  query: ExecutorRuntime;
  /** For /nodes/status: the engine this node executes on. */
  engine: ClickHouseEngine;
  /** Cluster mode: every shard and replica for /nodes/status, and the shards EXPLAIN names. */
  cluster?: Pick<ClickHouseCluster, 'name' | 'status' | 'layout' | 'engine'>;
  /** For /nodes/status: registered workers and forwarding targets. */
  workers: Pick<WorkersRuntime, 'status'>;
  /** Cancels of someone else's query are audited. */
  audit: AuditLog;
  /** GET /query/history. */
  queryLog: Pick<QueryLog, 'history'>;
  maxJsonRows: number;
}

export function createOperationNodeService(deps: OperationNodeDeps): ServiceDefinition {
  return { id: 'operation-node', routes: operationNodeRoutes(deps) };
}
