// Per-request facts every log line and error body needs: the request id (taken
// from X-Request-Id when it is sane, generated otherwise) and a child logger.
// The child logger is built on first use (most successful requests never log
// more than their summary line), through a getter defined once on the app's
// request prototype rather than on every request object.
import { randomUUID } from 'node:crypto';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    log: Logger;
    /** Extra fields for this request's log lines (trace id, tenant…), read when `log` is first built. */
    logBindings: Record<string, string>;
    /** The JSON body's bytes as received (set by the app factory's JSON parser). */
    rawBody?: Buffer;
    /** Set by tenant-scoped middleware once X-Tenant-Id is validated (and authorised). */
    tenantId?: string;
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CHILD_LOGGER = Symbol('childLogger');

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

export function requestContext(app: Express, serviceLogger: Logger) {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Request & { [CHILD_LOGGER]?: Logger }) {
      return (this[CHILD_LOGGER] ??= serviceLogger.child(this.logBindings));
    },
    set(this: Request & { [CHILD_LOGGER]?: Logger }, value: Logger) {
      this[CHILD_LOGGER] = value;
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    req.requestId = requestIdFrom(req.headers['x-request-id']);
    req.logBindings = { requestId: req.requestId };
    res.setHeader('X-Request-Id', req.requestId);
    next();
  };
}
