// What a route handler adds to the audit entry of its request (the route
// declares the action, src/platform/http/route.ts; the auth domain's audit log
// stores the entry). Kept on the request so the app factory can record it
// whatever the outcome, after the handler ran or failed.
import type { Request } from 'express';

export type AuditOutcome = 'success' | 'pending' | 'denied' | 'rejected' | 'failed';

/** Small facts about an action (counts, ids, names): never secrets, payloads or free text from clients. */
export type AuditDetails = Record<string, string | number | boolean | null>;

export interface AuditNote {
  tenant?: string;
  target?: string;
  details?: AuditDetails;
  /** Overrides the outcome derived from the answer (e.g. 'pending' for a request waiting for approval). */
  outcome?: AuditOutcome;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Facts the handler adds to its route's audit entry. */
    auditNote?: AuditNote;
  }
}

/** Adds facts to the audit entry of this request's route. */
export function noteAudit(req: Request, note: AuditNote): void {
  req.auditNote = { ...req.auditNote, ...note, details: { ...req.auditNote?.details, ...note.details } };
}
