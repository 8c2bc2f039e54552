// The boot sequence: build the shared clients once, listen on every selected
// service's port (so /health answers at once and /ready says 503), then open
// the stores (WAL replay included) and flip readiness. stop() reverses it.
import { AuthRuntime } from './platform/auth/auth-runtime.js';
import type { AppConfig } from './platform/config/load-config.js';
import { HealthBoard } from './platform/health-board.js';
import { createServiceApp } from './platform/http/create-service-app.js';
import { listen, type RunningServer } from './platform/http/http-server.js';
import { createLogging } from './platform/logger.js';
import { createMetrics } from './platform/metrics/registry.js';
import { Readiness } from './platform/readiness.js';
import { SharedResources } from './platform/resources.js';
import type { ServiceModule } from './platform/service.js';
import { runPhases } from './platform/shutdown.js';
import { StateStore } from './platform/state-store.js';
import { startTracing } from './platform/tracing.js';
import { openDataPath, type DataPath } from './data-path.js';
import { SERVICE_FACTORIES } from './services/registry.js';
import type { ServiceDeps } from './services/service-deps.js';

export interface ControlPlane {
  readonly ports: Record<string, number>;
  /** Resolves once every dependency is open and background work started. */
  readonly ready: Promise<void>;
  stop(reason: string): Promise<boolean>;
}

export async function startControlPlane(config: AppConfig): Promise<ControlPlane> {
  const startedAt = Date.now();
  const { logger, buffer } = createLogging({ level: config.log.level, bufferEntries: config.log.bufferEntries, version: config.version });
  const tracing = await startTracing({ ...config.tracing, version: config.version });
  // Lifecycle lines (listening, ready, shutdown) show even when LOG_LEVEL hides request logs.
  const lifecycle = logger.child({ component: 'lifecycle' }, { level: config.log.level === 'silent' ? 'silent' : 'info' });
  const metrics = createMetrics();
  const readiness = new Readiness();
  const resources = new SharedResources();
  const healthBoard = new HealthBoard(readiness);
  // One auth runtime for every service: tokens are verified locally, and revocations are seen by all at once.
  const auth = new AuthRuntime(config.auth, () => resources.stateStore, logger, metrics.registry);
  const deps: ServiceDeps = { config, logger, metrics, logBuffer: buffer, readiness, resources, healthBoard, auth, startedAt };

  const services: ServiceModule[] = config.services.map((id) => SERVICE_FACTORIES[id](deps));
  const servers: RunningServer[] = [];
  const ports: Record<string, number> = {};
  try {
    for (const service of services) {
      const app = createServiceApp(service, { config, logger, httpMetrics: metrics.http, readiness, auth, startedAt, tracingEnabled: tracing.enabled });
      const server = await listen(service.id, app, config.host, config.ports[service.id]);
      servers.push(server);
      ports[service.id] = server.port;
      healthBoard.register(service, server.port);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.drain(1000)));
    throw err;
  }
  lifecycle.info({ ports, host: config.host, tracing: tracing.enabled }, 'listening');

  let stateStore: StateStore | undefined;
  let dataPath: DataPath | undefined;
  const needsDataPath = services.some((s) => s.dependencies.some((d) => d === 'wal' || d === 'clickhouse'));
  const ready = (async () => {
    readiness.set('stateStore', 'pending');
    stateStore = await StateStore.open(config.paths.statePath);
    resources.stateStore = stateStore;
    readiness.set('stateStore', 'open');
    if (needsDataPath) {
      dataPath = await openDataPath({
        config,
        logger,
        metrics,
        readiness,
        state: stateStore,
        tenantLimits: async (tenant) => (await auth.tenants.get(tenant))?.limits,
      });
      resources.dataPath = dataPath;
    }
    for (const service of services) await service.start?.();
    readiness.markBooted();
    lifecycle.info({ ms: Date.now() - startedAt, services: config.services }, 'control plane ready');
  })();

  const stop = async (reason: string): Promise<boolean> => {
    lifecycle.info({ reason }, 'draining');
    readiness.markDraining();
    // A SIGTERM during boot waits (bounded) for the boot to settle, so stores are
    // not closed under a service that is still starting.
    await Promise.race([ready.catch(() => undefined), new Promise((r) => setTimeout(r, config.http.shutdownTimeoutMs).unref())]);
    const timeout = config.http.shutdownTimeoutMs;
    const clean = await runPhases(
      [
        { name: 'http-drain', timeoutMs: timeout + 1000, run: () => Promise.all(servers.map((s) => s.drain(timeout))) },
        { name: 'services', timeoutMs: timeout, run: () => Promise.all(services.map((s) => s.stop?.())) },
        { name: 'data-path', timeoutMs: timeout, run: async () => dataPath?.close() },
        { name: 'state-store', timeoutMs: 5000, run: async () => stateStore?.close() },
        { name: 'tracing', timeoutMs: 2000, run: () => tracing.shutdown() },
      ],
      lifecycle,
    );
    lifecycle.info({ clean }, 'stopped');
    return clean;
  };

  return { ports, ready, stop };
}
