// Wires the remote-worker feature into the services without touching them:
// with DISTRIBUTED_MODE=true the designated routes of a service go through its
// forwarder (designated routes the service does not implement yet are added,
// served only by workers) and its health merges the forwarder's; the Operation
// Node also gets the worker/job callback routes. With DISTRIBUTED_MODE off a
// service comes back untouched (no cost on its requests).
import type { ServiceId } from '../platform/config/schema.js';
import { Errors } from '../platform/errors.js';
import type { RouteSpec } from '../platform/http/route.js';
import type { HealthReport, ServiceModule } from '../platform/service.js';
import type { ServiceDeps } from '../services/service-deps.js';
import { designatedRoutesOf, routeKey, type DesignatedRoute } from './designated-routes.js';
import type { ServiceForwarder } from './forwarder.js';
import { workerRoutes } from './routes.js';
import { workersRuntime } from './worker-runtime.js';

/** The service that serves the worker and job callbacks. */
export const CALLBACK_SERVICE: ServiceId = 'operation-node';

export function withWorkers(id: ServiceId, factory: (deps: ServiceDeps) => ServiceModule): (deps: ServiceDeps) => ServiceModule {
  return (deps) => {
    const module = factory(deps);
    const forwarder = deps.config.workers.distributedMode ? workersRuntime(deps).forwarder(id) : undefined;
    if (!forwarder && id !== CALLBACK_SERVICE) return module;
    const runtime = workersRuntime(deps);
    let routes = module.routes;
    let health = module.health?.bind(module);
    if (forwarder) {
      routes = forwardedRoutes(module, forwarder, deps);
      const own = health;
      health = () => mergeHealth(own?.() ?? { status: 'ok' }, forwarder.health());
    }
    if (id === CALLBACK_SERVICE) routes = [...routes, ...workerRoutes(runtime, deps)];
    return {
      ...module,
      routes,
      ...(health ? { health } : {}),
      async start() {
        await module.start?.();
        await runtime.start();
      },
      async stop() {
        await runtime.stop();
        await module.stop?.();
      },
    };
  };
}

function forwardedRoutes(module: ServiceModule, forwarder: ServiceForwarder, deps: ServiceDeps): RouteSpec[] {
  const designated = new Map(designatedRoutesOf(module.id).map((r) => [routeKey(r.method, r.path), r]));
  const routes = module.routes.map((spec) => {
    const d = designated.get(routeKey(spec.method, spec.path));
    if (!d) return spec;
    designated.delete(routeKey(spec.method, spec.path));
    return forwardedSpec(spec, d, forwarder, deps, spec.requires ?? module.dependencies);
  });
  // Designated routes without a local implementation: workers only, 503 when none can take them.
  for (const d of designated.values()) {
    routes.push({
      method: d.method,
      path: d.path,
      operation: `worker.${module.id}.${d.path.replace(/^\//, '').replace(/\//g, '.')}`,
      summary: `${d.summary} (served by remote workers only)`,
      auth: d.auth,
      requires: [],
      handler: async ({ req, res }) => {
        await forwarder.forward(req, res, d, false);
        return undefined;
      },
    });
  }
  return routes;
}

function forwardedSpec(spec: RouteSpec, d: DesignatedRoute, forwarder: ServiceForwarder, deps: ServiceDeps, requires: RouteSpec['requires']): RouteSpec {
  return {
    ...spec,
    // Forwarding needs no local store; the local fallback checks them itself.
    requires: [],
    handler: async (ctx) => {
      if (forwarder.hasWorkers()) {
        if (await forwarder.forward(ctx.req, ctx.res, d, true)) return undefined;
      } else {
        ctx.res.setHeader('X-Served-By', 'local');
      }
      if (requires && !deps.readiness.dependenciesOpen(requires)) {
        // Same answers as the app factory's own readiness gate.
        throw deps.readiness.isDraining ? Errors.shuttingDown() : Errors.notReady(spec.path);
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
