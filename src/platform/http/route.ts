// A route is declared once: method, path, a constant operation name (log field
// and metric label), its zod schemas (validator, TypeScript type and OpenAPI
// entry at once) and a thin handler.
import type { Request, Response } from 'express';
import type { z, ZodType } from 'zod';
import type { DependencyName } from '../readiness.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';

/**
 * Who may call a route (enforced in one place, create-service-app.ts):
 * - 'public': no credential (only /health, /ready, /auth/login, /auth/refresh — the refresh token is its
 *   credential — and the dashboard page shell);
 * - 'authenticated': any valid credential;
 * - 'tenant:read' / 'tenant:write': a user or API key of the X-Tenant-Id tenant with that
 *   right (writer implies read), or an admin for any tenant;
 * - 'admin': role admin;
 * - 'service': role service (Python workers) or admin.
 */
export type RouteAuth = 'public' | 'authenticated' | 'tenant:read' | 'tenant:write' | 'admin' | 'service';

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
  body?: BS;
  query?: QS;
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
