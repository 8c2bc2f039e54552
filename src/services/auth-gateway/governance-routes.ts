// Governance on the auth gateway: the audit log (read by admins and
// operators) and approvals of destructive operations (listed by admins and
// operators, approved by an admin other than the one who asked).
import type { Request } from 'express';
import type { Decision } from '../../auth/governance/approval-store.js';
import { noteAudit } from '../../platform/http/audit-note.js';
import { principalName } from '../../platform/http/principal.js';
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import type { AuthGatewayDeps } from './index.js';
import { approvalActions, resultFacts } from './approval-actions.js';
import { approvalsQuery, auditQuery } from './schemas.js';

export function governanceRoutes(deps: AuthGatewayDeps) {
  const { approvals, audit } = deps.auth;
  const actions = approvalActions(deps);

  const decide = async (req: Request, decision: Decision) => {
    if (!req.principal) throw Errors.unauthorized();
    const id = String(req.params.id);
    const known = await approvals.get(id);
    noteAudit(req, {
      target: `approval:${id}`,
      ...(known ? { tenant: known.tenant, details: { approvalId: id, approvalAction: known.action, requestedBy: known.requestedBy } } : {}),
    });
    const decided = await approvals.decide(id, principalName(req.principal), decision, (a) => actions[a.action](a));
    if (decision === 'approve') noteAudit(req, { details: resultFacts(decided.result) });
    req.log.info({ approval: id, action: decided.action, tenant: decided.tenant, status: decided.status, requestedBy: decided.requestedBy }, `approval ${decided.status}`);
    return decided;
  };

  return [
    route({
      method: 'get',
      path: '/admin/audit',
      operation: 'admin.audit.list',
      auth: 'operator',
      summary: 'Audit log, newest first: filter by time (from, to), principal, tenant, action (or prefix*); page with cursor',
      query: auditQuery,
      requires: ['stateStore'],
      handler: async ({ query }) => {
        if (query.from !== undefined && query.to !== undefined && query.from >= query.to) throw Errors.validation('from must be before to', { field: 'from' });
        const page = await audit.query({
          fromMs: query.from,
          toMs: query.to,
          principal: query.principal,
          tenant: query.tenant,
          action: query.action,
          limit: query.limit,
          cursor: query.cursor,
        });
        return { entries: page.entries, count: page.entries.length, next_cursor: page.nextCursor };
      },
    }),
    route({
      method: 'get',
      path: '/admin/approvals',
      operation: 'admin.approvals.list',
      auth: 'operator',
      summary: 'Approvals of destructive operations, newest first (?status=pending|approved|rejected|expired)',
      query: approvalsQuery,
      requires: ['stateStore'],
      handler: async ({ query }) => {
        const list = await approvals.list(query);
        return { approvals: list, count: list.length, requiredFor: deps.approvalSettings.requiredFor, ttlSeconds: approvals.ttlSeconds };
      },
    }),
    route({
      method: 'get',
      path: '/admin/approvals/:id',
      operation: 'admin.approvals.get',
      auth: 'operator',
      summary: 'One approval with its status and, once approved, what the operation answered',
      requires: ['stateStore'],
      handler: async ({ req }) => {
        const a = await approvals.get(String(req.params.id));
        if (!a) throw Errors.notFound(`approval ${String(req.params.id)}`);
        return a;
      },
    }),
    route({
      method: 'post',
      path: '/admin/approvals/:id/approve',
      operation: 'admin.approvals.approve',
      auth: 'admin',
      audit: 'admin.approvals.approve',
      summary: 'Approve a pending operation (an admin other than the requester, before it expires): it runs now',
      requires: ['stateStore'],
      handler: ({ req }) => decide(req, 'approve'),
    }),
    route({
      method: 'post',
      path: '/admin/approvals/:id/reject',
      operation: 'admin.approvals.reject',
      auth: 'admin',
      audit: 'admin.approvals.reject',
      summary: 'Reject a pending operation (or withdraw one’s own request): it never runs',
      requires: ['stateStore'],
      handler: ({ req }) => decide(req, 'reject'),
    }),
  ];
}
