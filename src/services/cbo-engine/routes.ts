// CBO Engine routes: optimize a query into a physical plan, counters of the
// planner, and the cost weights (read by anyone signed in, changed by admins).
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import { generateSql } from '../../query/sql-generator.js';
import type { CboEngineDeps } from './index.js';
import { optimizeBody, weightsPatchBody } from './schemas.js';

export function cboEngineRoutes(deps: CboEngineDeps) {
  const rt = deps.planner;
  return [
    route({
      method: 'post',
      path: '/optimize/query',
      operation: 'cbo.optimize',
      auth: 'tenant:read',
      summary: 'Physical plan of a SQL or DSL query: pruning, Parquet vs ClickHouse, pushdown, join order; estimated rows and cost per node',
      body: optimizeBody,
      requires: ['stateStore'],
      handler: async ({ req, body }) => {
        const tenant = tenantIdOf(req);
        const planned = await rt.planner.plan(tenant, { sql: body.sql, dsl: body.dsl });
        const gen = generateSql(planned.physical, rt.genContext(tenant));
        return {
          physical: planned.physical.root,
          estimatedRows: planned.physical.estRows,
          estimatedCost: planned.physical.totalCost,
          partitions: planned.physical.partitions,
          joinReordered: planned.physical.joinReordered,
          cacheHit: planned.cacheHit,
          sql: gen.sql,
        };
      },
    }),
    route({
      method: 'get',
      path: '/optimize/stats',
      operation: 'cbo.stats',
      auth: 'client',
      summary: 'Plans made, cache hits, partitions pruned, scans by source, joins reordered, statistics refreshes',
      requires: [],
      handler: () => ({ ...rt.planner.stats, statsRefreshes: rt.columnStats.refreshes }),
    }),
    route({
      method: 'get',
      path: '/optimize/config',
      operation: 'cbo.config.get',
      auth: 'client',
      summary: 'Cost weights the optimizer plans with',
      requires: ['stateStore'],
      handler: async () => rt.cboConfig.get(),
    }),
    route({
      method: 'put',
      path: '/optimize/config',
      operation: 'cbo.config.put',
      auth: 'admin',
      audit: 'admin.optimizer.config',
      summary: 'Change cost weights (validated; unknown keys or out-of-range values are 400)',
      body: weightsPatchBody,
      requires: ['stateStore'],
      handler: async ({ body }) => {
        if (Object.keys(body).length === 0) throw Errors.validation('give at least one weight to change');
        return rt.cboConfig.put(body);
      },
    }),
  ];
}
