// How a route defers a destructive operation to a second admin: it stores the
// pending approval and answers 202 with its id; the approval routes run the
// operation later (see src/services/auth-gateway/approval-actions.ts).
import type { Request, Response } from 'express';
import { principalName } from '../../platform/http/principal.js';
import type { ApprovalAction } from '../../platform/config/schema.js';
import { Errors } from '../../platform/errors.js';
import type { ApprovalRecord, ApprovalStore } from './approval-store.js';
import { noteAudit } from './audit-log.js';

export interface PendingApprovalAnswer {
  status: 'pending_approval';
  approvalId: string;
  message: string;
  approval: ApprovalRecord;
}

export async function deferForApproval(
  approvals: ApprovalStore,
  req: Request,
  res: Response,
  input: { action: ApprovalAction; tenant: string; params: Record<string, unknown>; summary: string },
): Promise<PendingApprovalAnswer> {
  if (!req.principal) throw Errors.unauthorized();
  const approval = await approvals.request({ ...input, requestedBy: principalName(req.principal), requestId: req.requestId });
  noteAudit(req, { tenant: input.tenant, outcome: 'pending', details: { approvalId: approval.id, approvalAction: input.action } });
  res.status(202);
  return {
    status: 'pending_approval',
    approvalId: approval.id,
    message: `${input.action} needs a second admin: another admin must POST /admin/approvals/${approval.id}/approve before ${new Date(approval.expiresAt).toISOString()}`,
    approval,
  };
}
