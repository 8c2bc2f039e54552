// A route is declared once: method, path, a constant operation name (log field
// and metric label), its zod schemas (validator, TypeScript type and OpenAPI
// entry at once) and a thin handler.
import type { Request, Response } from 'express';
import type { z, ZodType } from 'zod';
import type { Principal } from './principal.js';
import type { DependencyName } from '../readiness.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';

/**
 * Who may call a route (enforced in one place, create-service-app.ts, by the
 * auth runtime; listed as `x-auth` in /openapi.json):
 * - 'public': no credential (only /health, /ready, /auth/login, /auth/refresh — the refresh token is its
 *   credential — and the dashboard page shell);
 * - 'authenticated': any valid credential (the caller's own identity, session, password);
 * - 'client': any valid credential but a worker's service key (which acts
 *   only on its registration and leases);
 * - 'tenant:read' / 'tenant:write': a member of the X-Tenant-Id tenant with that
 *   right there (writer implies read), or an admin for any tenant;
 * - 'tenant:queries': the query console: a member sees (and cancels) its tenant's
 *   queries, an admin or operator those of every tenant (X-Tenant-Id narrows);
 * - 'operator': admin or operator (read-only monitoring, the audit log, approvals);
 * - 'scrape': admin, operator or service (Prometheus scraping /metrics);
 * - 'admin': role admin;
 * - 'service': role service (Python workers) or admin; with `lease`, a service
 *   credential must also hold a live lease of that job type for the tenant.
 */
export type RouteAuth = 'public' | 'authenticated' | 'client' | 'tenant:read' | 'tenant:write' | 'tenant:queries' | 'operator' | 'scrape' | 'admin' | 'service';

export const ROUTE_AUTHS = ['public', 'authenticated', 'client', 'tenant:read', 'tenant:write', 'tenant:queries', 'operator', 'scrape', 'admin', 'service'] as const satisfies readonly RouteAuth[];

/**
 * A job lease a service credential must hold to call a route (its scope): the
 * job type, and the check that the request names a live lease of that type,
 * for the request's tenant, held by a worker the credential registered.
 */
export interface LeaseRequirement {
  jobType: string;
  /** Throws 403 (the request is outside the lease) or 400 (it names none). */
  verify(req: Request, principal: Principal, tenant: string): Promise<void>;
}

type Infer<S> = S extends ZodType ? z.infer<S> : undefined;

export interface RouteContext<B, Q> {
  req: Request;
  res: Response;
  body: B;
  query: Q;
}

export interface RouteSpec<BS extends ZodType | undefined = ZodType | undefined, QS extends ZodType | undefined = ZodType | undefined> {
  method: HttpMethod;
  path: string;
  operation: string;
  summary: string;
  /** Required: every route says who may call it. */
  auth: RouteAuth;
  /**
   * The job lease a service credential must hold to call this route (the
   * worker names it with X-Job-Id and X-Job-Lease); admins need none.
   */
  lease?: LeaseRequirement;
  /**
   * The audit action this route records (time, principal, role, tenant, target,
   * outcome, request id), durably before it answers, whatever the outcome.
   * Every admin mutation has one.
   */
  audit?: string;
  body?: BS;
  query?: QS;
  /**
   * The JSON a 200 answer has. Required of routes remote workers may serve
   * (src/workers/designated-routes.ts): a worker's answer that does not fit is
   * never passed on. Listed in /openapi.json.
   */
  response?: ZodType;
  /** Content types the body may have; JSON by default. Anything else is 415. */
  bodyTypes?: readonly string[];
  /** Dependencies this route needs; defaults to the service's. */
  requires?: readonly DependencyName[];
  /** Returns the JSON body (status 200 unless the handler set another), or nothing if it wrote the response itself. */
  handler: (ctx: RouteContext<Infer<BS>, Infer<QS>>) => unknown;
}

/** Identity helper that lets TypeScript infer body/query types from the schemas. */
export function route<BS extends ZodType | undefined = undefined, QS extends ZodType | undefined = undefined>(
  spec: RouteSpec<BS, QS>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}
