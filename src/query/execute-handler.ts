// The handler behind POST /query/execute (Operation Node) and POST
// /data/execute (Tenant Node): one query for the caller's tenant, answered as
// JSON, NDJSON or Arrow IPC by the request's Accept or `format`, after waiting
// (bounded) until it can see every record acknowledged before it arrived,
// unless the body asks for "consistency": "eventual".
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { tenantIdOf } from '../platform/http/tenant-id.js';
import type { QueryExecutor } from './executor.js';
import { queryCallerOf } from './query-caller.js';
import { consistencyOf, type executeBody } from './request-schemas.js';
import { formatOf, writeResult } from './result-writer.js';

type ExecuteBody = z.infer<typeof executeBody>;

export function executeHandler(executor: QueryExecutor, opts: { via: string; maxJsonRows: number }) {
  return async ({ req, res, body }: { req: Request; res: Response; body: ExecuteBody }) => {
    const handlerStart = process.hrtime.bigint();
    const tenant = tenantIdOf(req);
    const format = formatOf(req, body.format);
    // Who ran it (a cancel by anyone else is audited) and from where: queryCallerOf, for the registry and the query log.
    // A client that goes away (mid-stream, or while the query waits) cancels it: the engine stops.
    const clientGone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    const open = await executor.open(
      tenant,
      { sql: body.sql, dsl: body.dsl },
      { timeoutMs: body.timeoutMs, via: opts.via, format, consistency: consistencyOf(body), signal: clientGone.signal, ...queryCallerOf(req) },
    );
    return writeResult(req, res, open, format, { maxJsonRows: opts.maxJsonRows, clientGone: clientGone.signal, handlerStart });
  };
}
