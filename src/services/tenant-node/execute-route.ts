// POST /data/execute: a query scoped to the caller's tenant, the same
// executor as the Operation Node's /query/execute.
import { route } from '../../platform/http/route.js';
import { executeHandler } from '../../query/execute-handler.js';
import { executeBody } from '../../query/request-schemas.js';
import type { TenantNodeDeps } from './index.js';

export function executeRoute(deps: TenantNodeDeps) {
  return route({
    method: 'post',
    path: '/data/execute',
    operation: 'tenant.execute',
    auth: 'tenant:read',
    summary: 'Run a SQL or DSL query over the tenant’s tables; JSON, or NDJSON / Arrow IPC stream by Accept',
    body: executeBody,
    handler: executeHandler(deps.executor, { via: 'tenant-node', maxJsonRows: deps.maxJsonRows }),
  });
}
