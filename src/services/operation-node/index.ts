import type { AuditLog } from '../../auth/governance/audit-log.js';
import type { ServiceDefinition } from '../../platform/service.js';
import type { ExecutorRuntime } from '../../query/query-runtime.js';
import type { ClickHouseEngine } from '../../storage/clickhouse/clickhouse-engine.js';
import type { WorkersRuntime } from '../../workers/worker-runtime.js';
import { operationNodeRoutes } from './routes.js';

export interface OperationNodeDeps {
  query: ExecutorRuntime;
  /** For /nodes/status: the engine this node executes on. */
  engine: ClickHouseEngine;
  /** For /nodes/status: registered workers and forwarding targets. */
  workers: Pick<WorkersRuntime, 'status'>;
  /** Cancels of someone else's query are audited. */
  audit: AuditLog;
  maxJsonRows: number;
}

export function createOperationNodeService(deps: OperationNodeDeps): ServiceDefinition {
  return { id: 'operation-node', routes: operationNodeRoutes(deps) };
}
