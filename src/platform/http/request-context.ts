// Per-request facts every log line and error body needs: the request id (taken
// from X-Request-Id when it is sane, generated otherwise) and a child logger.
// The child logger is built on first use: most successful requests never log
// more than their one summary line, and building children is not free.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    log: Logger;
    /** Extra fields for this request's log lines (trace id, tenant…), read when `log` is first built. */
    logBindings: Record<string, string>;
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
    req.logBindings = { requestId: req.requestId };
    let log: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      get: () => (log ??= serviceLogger.child(req.logBindings)),
      set: (value: Logger) => {
        log = value;
      },
    });
    res.setHeader('X-Request-Id', req.requestId);
    next();
  };
}
