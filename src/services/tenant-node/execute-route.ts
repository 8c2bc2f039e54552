// POST /data/execute: a query scoped to the caller's tenant, the same
// executor as the Operation Node's /query/execute.
import { route } from '../../platform/http/route.js';
import { executeBody } from '../../query/request-schemas.js';
import { executeHandler } from '../operation-node/query-routes.js';
import type { ServiceDeps } from '../service-deps.js';

export function executeRoute(deps: ServiceDeps) {
  return route({
    method: 'post',
    path: '/data/execute',
    operation: 'tenant.execute',
    auth: 'tenant:read',
    summary: 'Run a SQL or DSL query over the tenant’s tables; JSON, or NDJSON / Arrow IPC stream by Accept',
    body: executeBody,
    requires: ['stateStore', 'wal', 'clickhouse'],
    handler: executeHandler(deps, 'tenant-node'),
  });
}
