// POST /data/retention/sweep: drop a tenant's data older than a cutoff (whole
// UTC days) from ClickHouse, Parquet and the catalog. Called by retention jobs
// (Python workers, role service) or an admin.
import { z } from 'zod';
import { sweepRetention } from '../../applier/retention.js';
import { route } from '../../platform/http/route.js';
import { instantSchema, tableNameSchema } from '../../platform/http/common-schemas.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import type { TenantNodeDeps } from './index.js';

const sweepBody = z
  .object({
    table: tableNameSchema.optional(),
    before: instantSchema,
  })
  .strict();

export function retentionRoute(deps: TenantNodeDeps) {
  return route({
    method: 'post',
    path: '/data/retention/sweep',
    operation: 'tenant.retention.sweep',
    auth: 'service',
    summary: 'Drop the tenant’s data on UTC days before `before` from both sinks and the catalog',
    body: sweepBody,
    handler: async ({ req, body }) => {
      const tenant = tenantIdOf(req);
      const result = await sweepRetention(deps.retention, tenant, body.table, body.before);
      req.log.info({ tenant, table: body.table, ...result }, 'retention sweep');
      return { tenant, ...result };
    },
  });
}
