// Per-request facts every log line and error body needs: the request id (taken
// from X-Request-Id when it is sane, generated otherwise) and a child logger.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    log: Logger;
    /** Set by tenant-scoped middleware once X-Tenant-Id is validated (and authorised). */
    tenantId?: string;
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

export function requestContext(serviceLogger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    req.requestId = requestIdFrom(req.headers['x-request-id']);
    req.log = serviceLogger.child({ requestId: req.requestId });
    res.setHeader('X-Request-Id', req.requestId);
    next();
  };
}
