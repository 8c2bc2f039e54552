// The routes each service may hand to its remote workers when
// DISTRIBUTED_MODE=true. A worker serves a route only if it declares it at
// registration (static workers from *_URL are assumed to serve all of their
// service's designated routes). `idempotent` says whether a failed call may be
// sent again to another worker: true only where repeating has no effect.
import type { ServiceId } from '../platform/config/schema.js';
import type { HttpMethod, RouteAuth } from '../platform/http/route.js';

export interface DesignatedRoute {
  service: ServiceId;
  method: HttpMethod;
  path: string;
  /** Safe to repeat (reads and pure computations): retried on another worker and on failure served locally. */
  idempotent: boolean;
  /** Policy when the service has no local route of its own to take it from. */
  auth: RouteAuth;
  summary: string;
}

export const DESIGNATED_ROUTES: readonly DesignatedRoute[] = [
  { service: 'tenant-node', method: 'get', path: '/data/stats', idempotent: true, auth: 'tenant:read', summary: 'Tenant statistics' },
  { service: 'metadata-catalog', method: 'get', path: '/metadata/indexes', idempotent: true, auth: 'tenant:read', summary: 'Indexes of the tenant’s tables' },
  { service: 'query-interpreter', method: 'post', path: '/parse/sql', idempotent: true, auth: 'client', summary: 'Parse SQL into an AST' },
  { service: 'cbo-engine', method: 'post', path: '/optimize/query', idempotent: true, auth: 'tenant:read', summary: 'Optimize a query plan' },
];

export function designatedRoutesOf(service: ServiceId): DesignatedRoute[] {
  return DESIGNATED_ROUTES.filter((r) => r.service === service);
}

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}
