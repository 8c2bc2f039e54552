// The boot sequence. Resolve the module graph for the chosen services, listen
// on every service's port at once (so /health answers and /ready says 503 while
// the WAL replays), start the modules in dependency order, mount each service's
// routes as soon as it is built, and flip readiness. stop() drains HTTP first,
// then stops the modules in reverse order, each bounded by a timeout.
import type { AuthRuntime } from '../auth/auth-runtime.js';
import type { AppConfig } from '../platform/config/load-config.js';
import type { ServiceId } from '../platform/config/schema.js';
import { HealthBoard } from '../platform/health-board.js';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app.js';
import type { RouteSpec } from '../platform/http/route.js';
import { listen, type RunningServer } from '../platform/http/http-server.js';
import { startObservability } from '../platform/observability.js';
import type { Readiness } from '../platform/readiness.js';
import type { ServiceDefinition, ServiceModule } from '../platform/service.js';
import { ModuleGraph } from './module-graph.js';
import type { BootContext } from './module-values.js';
import { declareModules } from './modules.js';
import { runPhases } from './shutdown.js';

export interface ControlPlane {
  readonly ports: Record<string, number>;
  /** The modules this boot runs, each with what it needs, in start order. */
  readonly graph: Record<string, readonly string[]>;
  /** Resolves once every module has started and every service serves its routes. */
  readonly ready: Promise<void>;
  stop(reason: string): Promise<boolean>;
}

/** Readiness answered from the module graph: booted, not draining, modules healthy. */
class GraphReadiness implements Readiness {
  booted = false;
  draining = false;
  /** Set once the graph is resolved (the graph's modules are declared with this readiness in hand). */
  graph?: ModuleGraph;

  get isDraining(): boolean {
    return this.draining;
  }

  isOpen(names: readonly string[]): boolean {
    return this.booted && !this.draining && this.dependenciesOpen(names);
  }

  dependenciesOpen(names: readonly string[]): boolean {
    return this.graph?.allOpen(names) ?? names.length === 0;
  }

  report(names: readonly string[]): Record<string, string> {
    const out: Record<string, string> = { boot: this.booted ? 'done' : this.draining ? 'draining' : 'starting' };
    for (const n of names) {
      const h = this.graph?.health(n) ?? { state: 'pending' };
      out[n] = h.detail ? `${h.state}: ${h.detail}` : h.state;
    }
    return out;
  }
}

export async function startControlPlane(config: AppConfig): Promise<ControlPlane> {
  const startedAt = Date.now();
  const observability = await startObservability(config);
  const { logger, lifecycle } = observability;
  const readiness = new GraphReadiness();
  const healthBoard = new HealthBoard(readiness);
  const boot: BootContext = { config, startedAt, readiness, healthBoard };
  const specs = declareModules(boot, observability);
  // An unknown service or a need no module declares fails here, before any port is taken.
  const resolved = new ModuleGraph(specs, config.services);
  readiness.graph = resolved;

  const apps = new Map<ServiceId, ServiceApp>();
  const servers: RunningServer[] = [];
  const ports: Record<string, number> = {};
  try {
    for (const id of config.services) {
      const app = createServiceApp(id, {
        config,
        logger,
        httpMetrics: observability.metrics.http,
        readiness,
        startedAt,
        tracingEnabled: observability.tracing.enabled,
      });
      const server = await listen(id, app.app, config.host, config.ports[id]);
      apps.set(id, app);
      servers.push(server);
      ports[id] = server.port;
      healthBoard.listening(id, server.port);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.drain(1000)));
    await observability.tracing.shutdown();
    throw err;
  }
  lifecycle.info({ ports, host: config.host, tracing: observability.tracing.enabled, modules: resolved.describe() }, 'listening');

  const timings: Record<string, number> = {};
  const ready = (async () => {
    const mounted: Array<Promise<void>> = [];
    await resolved.start((name, ms) => {
      timings[name] = ms;
      const app = apps.get(name as ServiceId);
      if (!app) return;
      // Every service needs `auth`, so it has started by now.
      mounted.push(
        Promise.all([resolved.valueOf<ServiceDefinition>(name), resolved.valueOf<AuthRuntime>('auth')]).then(([definition, auth]) => {
          const built = withDependencies(definition, resolved.closure(name));
          app.mount(built, auth);
          healthBoard.built(built);
        }),
      );
    });
    await Promise.all(mounted);
    readiness.booted = true;
    lifecycle.info({ ms: Date.now() - startedAt, services: config.services, startMs: timings }, 'control plane ready');
  })();

  const stop = async (reason: string): Promise<boolean> => {
    lifecycle.info({ reason }, 'draining');
    readiness.draining = true;
    const timeout = config.http.shutdownTimeoutMs;
    // A SIGTERM during boot waits (bounded) for the boot to settle, so stores are
    // not closed under a module that is still starting.
    await Promise.race([ready.catch(() => undefined), new Promise((r) => setTimeout(r, timeout).unref())]);
    const clean = await runPhases(
      [
        { name: 'http-drain', timeoutMs: timeout + 1000, run: () => Promise.all(servers.map((s) => s.drain(timeout))) },
        {
          name: 'modules',
          timeoutMs: timeout * 2 + 5000,
          run: async () => {
            const ok = await resolved.stop(timeout, (r) => {
              const line = { module: r.module, ms: r.ms, ...(r.error ? { err: r.error } : {}) };
              if (r.outcome === 'stopped') lifecycle.info(line, 'module stopped');
              else lifecycle.warn(line, r.outcome === 'timeout' ? 'module stop timed out' : 'module stop failed');
            });
            if (!ok) throw new Error('a module did not stop cleanly');
          },
        },
      ],
      lifecycle,
    );
    lifecycle.info({ clean }, 'stopped');
    return clean;
  };

  return { ports, graph: resolved.describe(), ready, stop };
}

/**
 * The service as served: what its routes need decides its readiness. A route
 * without its own `requires` needs every module the service was built from.
 */
function withDependencies(definition: ServiceDefinition, closure: readonly string[]): ServiceModule {
  const modules = closure.filter((m) => m !== definition.id);
  const needed = new Set<string>();
  for (const r of definition.routes as readonly RouteSpec[]) for (const m of r.requires ?? modules) needed.add(m);
  return { ...definition, dependencies: [...needed], modules };
}
