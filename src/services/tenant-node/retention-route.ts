// POST /data/retention/sweep: drop a tenant's data older than a cutoff (whole
// UTC days) from ClickHouse, Parquet and the catalog, or with dryRun say what
// would go (days, rows, bytes, parts). Called by an admin, or by a worker's
// service key while it holds the tenant's leased retention-sweep job and only
// as deep as the tenant's retentionDays asks. With retention-sweep in
// APPROVAL_REQUIRED_FOR, an admin's sweep waits for a second admin (202).
import { z } from 'zod';
import { cutoffDateOf, planRetention, sweepRetention } from '../../applier/retention.js';
import { deferForApproval } from '../../auth/governance/approval-http.js';
import { noteAudit } from '../../platform/http/audit-note.js';
import { assertCutoffNotInFuture, assertServiceSweep } from '../../auth/governance/retention-scope.js';
import { Errors } from '../../platform/errors.js';
import { instantSchema, tableNameSchema } from '../../platform/http/common-schemas.js';
import { route } from '../../platform/http/route.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import type { TenantNodeDeps } from './index.js';

const sweepBody = z
  .object({
    table: tableNameSchema.optional(),
    before: instantSchema,
    dryRun: z.boolean().default(false),
  })
  .strict();

export function retentionRoute(deps: TenantNodeDeps) {
  return route({
    method: 'post',
    path: '/data/retention/sweep',
    operation: 'tenant.retention.sweep',
    auth: 'service',
    lease: deps.sweepLease,
    audit: 'retention.sweep',
    summary: 'Drop the tenant’s data on UTC days before `before` from both sinks and the catalog (dryRun: what would go)',
    body: sweepBody,
    handler: async ({ req, res, body }) => {
      const tenant = tenantIdOf(req);
      const principal = req.principal;
      if (!principal) throw Errors.unauthorized();
      noteAudit(req, {
        tenant,
        target: body.table ? `table:${tenant}/${body.table}` : `tenant:${tenant}`,
        details: { cutoffDate: cutoffDateOf(body.before), dryRun: body.dryRun, ...(req.lease ? { jobId: req.lease.jobId } : {}) },
      });
      assertCutoffNotInFuture(body.before);
      if (principal.role === 'service') {
        assertServiceSweep({ tenantId: tenant, tenant: await deps.tenants.get(tenant), beforeMs: body.before, table: body.table, job: req.lease?.payload ?? {} });
      }
      if (body.dryRun) return { tenant, ...(await planRetention(deps.retention, tenant, body.table, body.before)) };
      if (principal.role === 'admin' && deps.approvals.requires('retention-sweep')) {
        return deferForApproval(deps.approvals, req, res, {
          action: 'retention-sweep',
          tenant,
          params: { before: body.before, ...(body.table ? { table: body.table } : {}) },
          summary: `drop ${body.table ? `table ${body.table}` : 'every table'} of tenant ${tenant} before ${cutoffDateOf(body.before)}`,
        });
      }
      const result = await sweepRetention(deps.retention, tenant, body.table, body.before);
      noteAudit(req, { details: { rowsDeleted: result.rowsDeleted, partitionsDropped: result.partitionsDropped, bytesFreed: result.bytesFreed } });
      req.log.info({ tenant, table: body.table, ...result }, 'retention sweep');
      return { tenant, ...result };
    },
  });
}
