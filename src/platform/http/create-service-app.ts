// The one HTTP app factory used by all seven services: request ids, per-service
// child logger, tracing span, metrics by route template, the auth guard of
// every route, body limits, schema validation, /health, /ready, /openapi.json,
// 404/405 and the error middleware. The app listens before its service is
// built (so /health answers while stores open); mount() adds the routes once
// boot has built the service, and until then every other path is 503 not_ready.
import express, { type NextFunction, type Request, type Response } from 'express';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AppConfig } from '../config/load-config.js';
import { Errors, isAppError } from '../errors.js';
import type { HttpMetrics } from '../metrics/registry.js';
import type { Readiness } from '../readiness.js';
import type { ServiceModule } from '../service.js';
import type { ServiceId } from '../config/schema.js';
import type { Span } from '@opentelemetry/api';
import { activeTraceId, endSpan, traceIdOf, withServerSpan } from '../tracing.js';
import { errorHandler, toAppError } from './error-handler.js';
import { jsonBody } from './json-body.js';
import { bindNativePrototypes } from './native-prototypes.js';
import { requestContext } from './request-context.js';
import type { RouteSpec } from './route.js';
import type { RequestAuth } from './request-auth.js';
import { isValidTenantId } from './tenant-id.js';

export interface AppDeps {
  config: AppConfig;
  logger: Logger;
  httpMetrics: HttpMetrics;
  readiness: Readiness;
  startedAt: number;
  /** Whether spans are exported; when not, requests run without a span. */
  tracingEnabled: boolean;
}

export interface ServiceApp {
  app: express.Express;
  /** Serves the built service: its routes behind `auth`, its health and readiness. Once. */
  mount(service: ServiceModule, auth: RequestAuth): void;
}

const JSON_TYPES = ['application/json'] as const;
const PROBE_ROUTES = new Set(['/health', '/ready', '/metrics']);

export function createServiceApp(serviceId: ServiceId, deps: AppDeps): ServiceApp {
  const app = express();
  bindNativePrototypes(app);
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const log = deps.logger.child({ service: serviceId });
  const limit = deps.config.http.bodyLimitBytes;
  let service: ServiceModule | undefined;
  let unmatched: ReturnType<typeof notFoundOrMethodNotAllowed> | undefined;
  const router = express.Router();

  app.use(requestContext(app, log));
  app.use(observe(serviceId, deps));
  // Bodies are parsed per route, after the auth guard: an unauthenticated client never makes us read 16 MB of JSON.
  const bodyParsers = [
    // The raw bytes are kept (no copy: the buffer the reader collected anyway) so a forwarded request is sent on as it came.
    // Plain JSON is read by jsonBody itself, anything else by body-parser (json-body.ts).
    jsonBody(limit, (req, bytes) => keepRawBody(req, undefined, bytes), express.json({ limit, type: ['application/json', 'application/*+json'], verify: keepRawBody })),
    express.text({ limit, type: ['application/x-ndjson', 'text/plain'], verify: requireUtf8 }),
  ];

  app.get('/health', (_req, res) => {
    const extra = service?.health?.() ?? { status: 'ok' as const };
    res.json({
      status: extra.status,
      service: serviceId,
      time: new Date().toISOString(),
      version: deps.config.version,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      ...(extra.reasons?.length ? { reasons: extra.reasons } : {}),
    });
  });
  app.get('/ready', (_req, res) => {
    const ready = service !== undefined && deps.readiness.isOpen(service.dependencies);
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : deps.readiness.isDraining ? 'draining' : 'not_ready',
      service: serviceId,
      checks: deps.readiness.report(service?.modules ?? []),
      ...(service ? { needs: service.dependencies } : {}),
    });
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(serviceId, service?.routes ?? [], deps.config.version));
  });
  app.use(router);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    // Before the service is built every route is on its way: not ready, not unknown.
    if (!unmatched) return next(deps.readiness.isDraining ? Errors.shuttingDown() : Errors.notReady(serviceId));
    unmatched(req, _res, next);
  });
  app.use(errorHandler(limit));

  const mount = (built: ServiceModule, auth: RequestAuth) => {
    if (service) throw new Error(`${serviceId} is mounted already`);
    for (const spec of built.routes) {
      router[spec.method](spec.path, authGuard(spec, auth), ...bodyParsers, routeHandler(spec, built, deps, auth));
    }
    unmatched = notFoundOrMethodNotAllowed(built);
    service = built;
  };
  return { app, mount };
}

function keepRawBody(req: IncomingMessage, res: unknown, buf: Buffer): void {
  requireUtf8(req, res, buf);
  (req as Request).rawBody = buf;
}

/**
 * Bodies are UTF-8 or refused. Decoding would otherwise turn every invalid
 * byte into U+FFFD, so two different ids could arrive as the same one and be
 * stored under a name the client never sent. Checked on the raw bytes, before
 * decoding; body-parser passes the error thrown here on to the error handler.
 */
function requireUtf8(_req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) throw Errors.invalidEncoding('the request body is not valid UTF-8');
}

function routeHandler(spec: RouteSpec, service: ServiceModule, deps: AppDeps, auth: RequestAuth) {
  // Without its own list a route needs every module its service was built from.
  const requires = spec.requires ?? service.modules ?? service.dependencies;
  const bodyTypes = spec.bodyTypes ?? JSON_TYPES;
  const run = (audited: boolean) => async (req: Request, res: Response) => {
    res.locals.operation = spec.operation;
    if (!deps.readiness.dependenciesOpen(requires)) {
      throw deps.readiness.isDraining ? Errors.shuttingDown() : Errors.notReady(service.id);
    }
    let body: unknown;
    if (spec.body) {
      if (!req.is(bodyTypes as string[])) {
        throw Errors.unsupportedMediaType(req.headers['content-type'], [...bodyTypes]);
      }
      body = spec.body.parse(req.body);
    }
    const query = spec.query ? spec.query.parse(req.query) : undefined;
    const result = await spec.handler({ req, res, body: body as never, query: query as never });
    if (audited && spec.audit) await auth.audit.recordRequest(req, spec.audit, res.statusCode === 202 ? 'pending' : 'success');
    if (!res.headersSent && result !== undefined) res.json(result);
  };
  if (!spec.audit) return run(false);
  const audited = run(true);
  const action = spec.audit;
  // Audited routes: the entry is on stable storage before the answer leaves, whatever the outcome.
  return async (req: Request, res: Response) => {
    try {
      await audited(req, res);
    } catch (err) {
      const appErr = toAppError(err, deps.config.http.bodyLimitBytes);
      const outcome = appErr.status === 403 ? 'denied' : appErr.status < 500 ? 'rejected' : 'failed';
      await auth.audit
        // The failure decides the outcome, whatever the handler noted before it failed.
        .recordRequest(req, action, outcome, { outcome, details: { status: appErr.status, code: appErr.code } })
        .catch((auditErr: unknown) => req.log.error({ err: auditErr, action }, 'audit entry of a failed action could not be written'));
      throw err;
    }
  };
}

/**
 * The one place a route's `auth` policy is enforced, before its body is read or
 * its handler runs: 401 without a valid credential, 403 for the wrong role,
 * tenant or a disabled tenant. Puts the principal (and the tenant of tenant
 * routes) on the request.
 */
function authGuard(spec: RouteSpec, auth: RequestAuth) {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals.operation = spec.operation;
    if (spec.auth === 'public') return next();
    const principal = await auth.authenticate(req);
    req.principal = principal;
    req.logBindings.principal = `${principal.kind}:${principal.subject}`;
    try {
      await auth.authorize(principal, spec.auth, req, spec.lease);
    } catch (err) {
      // A known caller refused by a route's policy is a privileged attempt worth keeping.
      if (isAppError(err) && err.status === 403) await auditRefusal(auth, req, spec, err.message);
      throw err;
    }
    if (req.tenantId) req.logBindings.tenant = req.tenantId;
    next();
  };
}

async function auditRefusal(auth: RequestAuth, req: Request, spec: RouteSpec, reason: string): Promise<void> {
  const header = req.headers['x-tenant-id'];
  try {
    await auth.audit.recordRequest(req, spec.audit ?? 'access.denied', 'denied', {
      target: `${spec.method.toUpperCase()} ${spec.path}`,
      ...(isValidTenantId(header) ? { tenant: header } : {}),
      details: { reason, operation: spec.operation, policy: spec.auth },
    });
  } catch (err) {
    // The refusal stands either way; a broken audit store must not turn a 403 into a 500.
    req.log.error({ err }, 'audit entry of a refused request could not be written');
  }
}

/** Request log line, span and metrics, labelled by route template, never raw URL. */
function observe(serviceId: string, deps: AppDeps) {
  const { requests, duration } = deps.httpMetrics;
  const log = deps.logger;
  // One labelled child per (route, method, status): label hashing is not free at thousands of requests/s.
  const series = new Map<string, { count: ReturnType<typeof requests.labels>; time: ReturnType<typeof duration.labels> }>();
  const seriesFor = (route: string, method: string, status: number, code: string | undefined) => {
    const key = `${route}\u0000${method}\u0000${status}\u0000${code ?? ''}`;
    let s = series.get(key);
    if (!s) {
      // Error answers carry their code, so rules can tell an expected 503 (not_fresh) from a fault.
      const labels = { service: serviceId, route, method, status: String(status), ...(code ? { code } : {}) };
      s = { count: requests.labels(labels), time: duration.labels(labels) };
      series.set(key, s);
    }
    return s;
  };
  const finish = (req: Request, res: Response, start: bigint, span?: Span) => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const route = req.route?.path ? String(req.route.path) : 'unmatched';
    const s = seriesFor(route, req.method, res.statusCode, res.locals.errorCode as string | undefined);
    s.count.inc();
    s.time.observe(seconds);
    if (span) {
      span.updateName(`${req.method} ${route}`);
      endSpan(span, res.statusCode);
    }
    // Probes are polled constantly and /ready answers 503 by design while booting or draining;
    // other expected 503s (not ready, not fresh, draining, backpressure) are rejections, not server faults.
    const errorCode = res.locals.errorCode as string | undefined;
    const failed = res.statusCode >= 500 && res.locals.serverFault !== false;
    const level = PROBE_ROUTES.has(route) ? 'debug' : failed ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
    if (!log.isLevelEnabled(level)) return; // do not even build the request's child logger
    const line = {
      method: req.method,
      route,
      operation: res.locals.operation as string | undefined,
      status: res.statusCode,
      ...(errorCode ? { code: errorCode, reason: res.locals.errorMessage as string | undefined } : {}),
      durationMs: Math.round(seconds * 1e5) / 100,
    };
    const msg = PROBE_ROUTES.has(route) ? 'probe answered' : failed ? 'request failed' : res.statusCode >= 400 ? 'request rejected' : 'request completed';
    req.log[level](line, msg);
  };
  if (!deps.tracingEnabled) {
    return (req: Request, res: Response, next: NextFunction) => {
      const start = process.hrtime.bigint();
      res.locals.receivedAt = start;
      const traceId = traceIdOf(req.headers);
      if (traceId) req.logBindings.traceId = traceId;
      res.on('finish', () => finish(req, res, start));
      next();
    };
  }
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.locals.receivedAt = start;
    withServerSpan(`${req.method} ${serviceId}`, req.headers, (span) => {
      const traceId = activeTraceId();
      if (traceId) req.logBindings.traceId = traceId;
      res.on('finish', () => finish(req, res, start, span));
      next();
    });
  };
}

/** 405 (with Allow) when the path exists under another method, 404 otherwise. */
function notFoundOrMethodNotAllowed(service: ServiceModule) {
  const matchers = [
    ...service.routes.map((r) => ({ method: r.method.toUpperCase(), re: pathPattern(r.path) })),
    { method: 'GET', re: /^\/health\/?$/ },
    { method: 'GET', re: /^\/ready\/?$/ },
    { method: 'GET', re: /^\/openapi\.json$/ },
  ];
  return (req: Request, _res: Response, next: NextFunction) => {
    const allowed = [...new Set(matchers.filter((m) => m.re.test(req.path)).map((m) => m.method))];
    if (allowed.includes('GET')) allowed.push('HEAD');
    next(allowed.length > 0 ? Errors.methodNotAllowed(req.method, req.path, allowed) : Errors.notFound(`route ${req.method} ${req.path}`));
  };
}

function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

function openApiDocument(serviceId: ServiceId, routes: readonly RouteSpec[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    paths[p] ??= {};
    paths[p][r.method] = {
      operationId: r.operation,
      summary: r.summary,
      'x-auth': r.auth,
      ...(r.lease ? { 'x-lease': r.lease.jobType } : {}),
      ...(r.audit ? { 'x-audit': r.audit } : {}),
      ...(r.auth === 'public' ? { security: [] } : { security: [{ bearer: [] }] }),
      ...(r.query ? { parameters: [{ in: 'query', name: 'query', schema: safeSchema(r.query) }] } : {}),
      ...(r.body
        ? { requestBody: { content: Object.fromEntries((r.bodyTypes ?? JSON_TYPES).map((t) => [t, { schema: safeSchema(r.body) }])) } }
        : {}),
      ...(r.response ? { responses: { '200': { description: 'OK', content: { 'application/json': { schema: safeSchema(r.response, 'output') } } } } } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: serviceId, version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'access token (JWT) or API key' } } },
    paths,
  };
}

function safeSchema(schema: unknown, io: 'input' | 'output' = 'input'): unknown {
  try {
    return z.toJSONSchema(schema as z.ZodType, { unrepresentable: 'any', io });
  } catch {
    return {};
  }
}
