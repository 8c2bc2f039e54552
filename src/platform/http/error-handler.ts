// The one place an error becomes an HTTP response:
// {"error":{"code","message","requestId"}} with the right status, never a stack.
import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { AppError, Errors, isAppError } from '../errors.js';

/** body-parser and friends signal failures with `type`/`status`; translate them. */
function fromFrameworkError(err: unknown, bodyLimitBytes: number): AppError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: string; status?: number; message?: string };
  switch (e.type) {
    case 'entity.too.large':
      return Errors.payloadTooLarge(bodyLimitBytes);
    case 'entity.parse.failed':
      return Errors.invalidJson(e.message ?? 'could not parse body');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return Errors.unsupportedMediaType(e.message, ['application/json; charset=utf-8']);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return Errors.badRequest(e.message ?? 'bad request body');
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return Errors.badRequest(e.message ?? 'bad request');
  }
  return undefined;
}

export function toAppError(err: unknown, bodyLimitBytes: number): AppError {
  if (isAppError(err)) return err;
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const field = first?.path.join('.') ?? '';
    return Errors.validation(`${field ? `${field}: ` : ''}${first?.message ?? 'invalid input'}`, {
      issues: err.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return fromFrameworkError(err, bodyLimitBytes) ?? Errors.internal(err);
}

export function sendError(req: Request, res: Response, appErr: AppError): void {
  if (appErr.headers) for (const [k, v] of Object.entries(appErr.headers)) res.setHeader(k, v);
  const body: Record<string, unknown> = {
    code: appErr.code,
    message: appErr.message,
    requestId: req.requestId,
  };
  if (appErr.details) body.details = appErr.details;
  res.status(appErr.status).json({ error: body });
}

export function errorHandler(bodyLimitBytes: number) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appErr = toAppError(err, bodyLimitBytes);
    // The request log line and the HTTP metrics read these (an expected 503 is not a server fault).
    res.locals.errorCode = appErr.code;
    res.locals.serverFault = appErr.serverFault;
    if (appErr.serverFault) {
      req.log?.error({ err: appErr.cause ?? err, code: appErr.code }, appErr.message);
    } else if (appErr.status >= 500) {
      req.log?.warn({ code: appErr.code }, appErr.message);
    }
    if (res.headersSent) {
      // A streaming response already started: all we can do is cut it so the client sees it end early.
      res.destroy();
      return;
    }
    sendError(req, res, appErr);
  };
}
