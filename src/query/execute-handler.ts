// The handler behind POST /query/execute (Operation Node) and POST
// /data/execute (Tenant Node): one query for the caller's tenant, answered as
// JSON, NDJSON or Arrow IPC by the request's Accept or `format`.
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { tenantIdOf } from '../platform/http/tenant-id.js';
import type { QueryExecutor } from './executor.js';
import { queryCallerOf } from './query-caller.js';
import type { executeBody } from './request-schemas.js';
import { formatOf, writeResult } from './result-writer.js';

type ExecuteBody = z.infer<typeof executeBody>;

export function executeHandler(executor: QueryExecutor, opts: { via: string; maxJsonRows: number }) {
  return async ({ req, res, body }: { req: Request; res: Response; body: ExecuteBody }) => {
    const tenant = tenantIdOf(req);
    const format = formatOf(req, body.format);
    // Who ran it (a cancel by anyone else is audited) and from where (the query log).
    const open = await executor.open(tenant, { sql: body.sql, dsl: body.dsl }, { timeoutMs: body.timeoutMs, via: opts.via, format, ...queryCallerOf(req) });
    return writeResult(req, res, open, format, opts.maxJsonRows);
  };
}
