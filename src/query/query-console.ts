// The query console's domain, shared by the Operation Node (GET /query/running,
// DELETE /query/:id) and the monitoring dashboard's console: running queries
// with what they run, as the viewer may see it, and the cancel that is audited
// when someone other than the query's owner asks for it.
import type { Request } from 'express';
import type { AuditNote, AuditOutcome } from '../platform/http/audit-note.js';
import { noteAudit } from '../platform/http/audit-note.js';
import { principalName, type Principal } from '../platform/http/principal.js';
import type { QueryInfo, QueryRegistry, QueryState } from './query-registry.js';

/** Whether a viewer sees query texts: a tenant's own users and admins do; operators see the normalized text only. */
export function seesQueryText(p: Pick<Principal, 'role'> | undefined): boolean {
  return p !== undefined && p.role !== 'operator';
}

export interface ConsoleQuery extends QueryInfo {
  kind: 'sql' | 'dsl' | null;
  /** The text as sent (bounded); null for operators, and once the query has ended. */
  query: string | null;
  normalizedQuery: string | null;
  normalizedQueryHash: string | null;
}

/** Queries of `scope` (a tenant, or undefined: every tenant), newest first, with their statements as `seesText` allows. */
export function consoleQueries(registry: QueryRegistry, scope: string | undefined, state: QueryState | undefined, seesText: boolean): ConsoleQuery[] {
  const list = registry.list({ ...(scope !== undefined ? { tenant: scope } : {}), ...(state !== undefined ? { state } : {}) });
  return list
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    .map((info) => {
      const st = registry.statementOf(info.id);
      const error = seesText ? info.error : undefined;
      const { error: _e, ...rest } = info;
      return {
        ...rest,
        ...(error !== undefined ? { error } : {}),
        kind: st?.kind ?? null,
        query: seesText && st ? st.text : null,
        normalizedQuery: st?.normalized ?? null,
        normalizedQueryHash: st?.normalizedHash ?? null,
      };
    });
}

/** Where a cancel by someone else is recorded (the auth domain's audit log). */
export interface CancelAudit {
  recordRequest(req: Request, action: string, outcome: AuditOutcome, extra?: AuditNote): Promise<unknown>;
}

/**
 * Cancels a running query of `scope` (undefined: any tenant). Someone else's
 * query is audited (action query.cancel) before the answer, whatever happens.
 */
export async function cancelQuery(req: Request, registry: QueryRegistry, scope: string | undefined, id: string, audit: CancelAudit): Promise<QueryInfo> {
  const running = registry.get(id, scope);
  const caller = req.principal ? principalName(req.principal) : 'anonymous';
  if (!running || running.owner === caller) return registry.cancel(id, scope);
  noteAudit(req, { tenant: running.tenant, target: `query:${id}`, details: { owner: running.owner ?? null } });
  try {
    const cancelled = registry.cancel(id, scope);
    await audit.recordRequest(req, 'query.cancel', 'success');
    return cancelled;
  } catch (err) {
    await audit.recordRequest(req, 'query.cancel', 'rejected');
    throw err;
  }
}
