// Who runs a query, read once from the request: the principal's name (the
// query's owner: a cancel by anyone else is audited), its role and the
// client's user agent, for the registry and the query log.
import type { Request } from 'express';
import { principalName } from '../platform/http/principal.js';
import type { QueryCaller } from './query-registry.js';

/** User agents are free text from the client: kept short. */
const MAX_USER_AGENT = 256;

export function queryCallerOf(req: Request): QueryCaller {
  const p = req.principal;
  const ua = req.headers['user-agent'];
  return {
    ...(p ? { owner: principalName(p), role: p.role } : {}),
    ...(typeof ua === 'string' && ua !== '' ? { userAgent: ua.slice(0, MAX_USER_AGENT) } : {}),
  };
}
