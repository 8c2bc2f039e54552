// What the app factory needs from the auth domain (src/auth), and nothing
// more: who is calling, whether a route's policy lets them, and a durable
// record of audited actions. AuthRuntime implements it; platform stays free of
// users, tenants and sessions.
import type { Request } from 'express';
import type { AuditNote, AuditOutcome } from './audit-note.js';
import type { Principal } from './principal.js';
import type { LeaseRequirement, RouteAuth } from './route.js';

export interface RequestAuth {
  /** The caller, or 401. */
  authenticate(req: Request): Promise<Principal>;
  /** 403 (or 400 for a missing tenant) unless the policy lets this principal in; sets req.tenantId. */
  authorize(principal: Principal, policy: RouteAuth, req: Request, lease?: LeaseRequirement): Promise<void>;
  audit: {
    /** Appends the request's audit entry durably before the answer leaves. */
    recordRequest(req: Request, action: string, outcome: AuditOutcome, extra?: AuditNote): Promise<unknown>;
  };
}
