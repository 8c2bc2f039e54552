// Wires the remote-worker feature into a service without the service knowing:
// with DISTRIBUTED_MODE=true the designated routes of a service go through its
// forwarder (each keeps its local implementation as the fallback, and its
// response schema checks the workers' answers) and its health merges the forwarder's; the Operation
// Node also gets the worker/job callback routes. With DISTRIBUTED_MODE off a
// service comes back untouched (no cost on its requests). Boot applies it; the
// runtime's own start/stop belong to the workers module.
import type { ZodType } from 'zod';
import type { ServiceId } from '../platform/config/schema.js';
import { Errors } from '../platform/errors.js';
import type { RouteSpec } from '../platform/http/route.js';
import type { HealthReport, ServiceDefinition } from '../platform/service.js';
import type { Readiness } from '../platform/readiness.js';
import type { RecordSources } from '../records/record-reader.js';
import { designatedRoutesOf, routeKey, type DesignatedRoute } from './designated-routes.js';
import type { ServiceForwarder } from './forwarder.js';
import { workerRoutes } from './routes.js';
import type { WorkersRuntime } from './worker-runtime.js';

/** The service that serves the worker and job callbacks. */
export const CALLBACK_SERVICE: ServiceId = 'operation-node';

/**
 * A service with its workers: in distributed mode its designated routes go
 * through its forwarder and its health includes the forwarder's; the callback
 * service also serves the worker and job callbacks (reading job samples from
 * `records`). Without either, the module comes back as it was.
 */
export function withWorkers(module: ServiceDefinition, runtime: WorkersRuntime, readiness: Readiness, records?: RecordSources): ServiceDefinition {
  const forwarder = runtime.forwarder(module.id);
  const callbacks = module.id === CALLBACK_SERVICE && records !== undefined;
  if (!forwarder && !callbacks) return module;
  let routes = module.routes;
  let health = module.health?.bind(module);
  if (forwarder) {
    routes = forwardedRoutes(module, forwarder, readiness);
    const own = health;
    health = () => mergeHealth(own?.() ?? { status: 'ok' }, forwarder.health());
  }
  if (callbacks) routes = [...routes, ...workerRoutes(runtime, records)];
  return { ...module, routes, ...(health ? { health } : {}) };
}

function forwardedRoutes(module: ServiceDefinition, forwarder: ServiceForwarder, readiness: Readiness): RouteSpec[] {
  const designated = new Map(designatedRoutesOf(module.id).map((r) => [routeKey(r.method, r.path), r]));
  const routes = module.routes.map((spec) => {
    const d = designated.get(routeKey(spec.method, spec.path));
    if (!d) return spec;
    designated.delete(routeKey(spec.method, spec.path));
    if (!spec.response) throw new Error(`designated route ${routeKey(d.method, d.path)} of ${module.id} has no response schema: a worker's answer could not be checked`);
    // The local fallback checks what the route itself declares it needs.
    return forwardedSpec(spec, d, spec.response, forwarder, readiness, spec.requires);
  });
  // A worker answers only what the service could answer itself: the local implementation is the fallback.
  for (const d of designated.values()) throw new Error(`designated route ${routeKey(d.method, d.path)} has no local implementation in ${module.id}`);
  return routes;
}

function forwardedSpec(
  spec: RouteSpec,
  d: DesignatedRoute,
  answer: ZodType,
  forwarder: ServiceForwarder,
  readiness: Readiness,
  requires: RouteSpec['requires'],
): RouteSpec {
  return {
    ...spec,
    // Forwarding needs no local store; the local fallback checks them itself.
    requires: [],
    handler: async (ctx) => {
      if (forwarder.hasWorkers()) {
        if (await forwarder.forward(ctx.req, ctx.res, d, answer)) return undefined;
      } else {
        ctx.res.setHeader('X-Served-By', 'local');
      }
      if (requires && !readiness.dependenciesOpen(requires)) {
        // Same answers as the app factory's own readiness gate.
        throw readiness.isDraining ? Errors.shuttingDown() : Errors.notReady(spec.path);
      }
      return spec.handler(ctx);
    },
  };
}

function mergeHealth(a: HealthReport, b: HealthReport): HealthReport {
  const reasons = [...(a.reasons ?? []), ...(b.reasons ?? [])];
  const status = a.status === 'degraded' || b.status === 'degraded' ? 'degraded' : 'ok';
  return reasons.length > 0 ? { status, reasons } : { status };
}
