// The routes a service may hand to its remote workers when
// DISTRIBUTED_MODE=true. A route is designated only when a worker can answer it
// exactly as the local implementation does: its answer is a function of the
// request alone, and the contract suite
// (test/integration/workers-contract.integration.test.ts) runs every designated
// route against both with the same valid and invalid inputs. Routes whose
// answers come from state this process holds (GET /data/stats: the WAL and the
// ingest rate; GET /metadata/indexes: the catalog; POST /optimize/query: the
// statistics and the plan cache) are not designated: a worker could only answer
// them wrongly. Every designated route has a local implementation with a
// response schema, so a worker that cannot answer, or answers what does not fit,
// is replaced by it.
//
// A worker serves a route only if it declares it at registration (static
// workers from *_URL are assumed to serve all of their service's designated
// routes until they answer 404/405/501). `idempotent` says whether a failed
// call may be sent again to another worker: true only where repeating has no effect.
import { WORKER_ROUTE_SERVICES, type ServiceId } from '../platform/config/schema.js';
import type { HttpMethod } from '../platform/http/route.js';

export interface DesignatedRoute {
  service: ServiceId;
  method: HttpMethod;
  path: string;
  /** Safe to repeat (reads and pure computations): retried on another worker and on failure served locally. */
  idempotent: boolean;
}

export const DESIGNATED_ROUTES: readonly DesignatedRoute[] = [{ service: 'query-interpreter', method: 'post', path: '/parse/sql', idempotent: true }];

/** Services whose *_URL setting names workers (the config refuses the others'). */
export const SERVICES_WITH_WORKER_ROUTES: readonly ServiceId[] = WORKER_ROUTE_SERVICES;

export function designatedRoutesOf(service: ServiceId): DesignatedRoute[] {
  return DESIGNATED_ROUTES.filter((r) => r.service === service);
}

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}
