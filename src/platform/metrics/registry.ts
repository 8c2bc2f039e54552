// One prom-client registry per process. Features register their own metrics
// into it (each feature has its own metrics.ts); nothing uses the global one.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface HttpMetrics {
  /** `code`: the error code of an error answer (absent on success). */
  requests: Counter<'service' | 'route' | 'method' | 'status' | 'code'>;
  duration: Histogram<'service' | 'route' | 'method' | 'status' | 'code'>;
}

export interface MetricsSetup {
  registry: Registry;
  http: HttpMetrics;
}

export function createMetrics(): MetricsSetup {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total fail `promtool check metrics`; each is the sum of its by-type twin
  // (nodejs_active_handles{type} …), so nothing is lost.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const http: HttpMetrics = {
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests served, by service, route template, method, status and (errors) error code',
      labelNames: ['service', 'route', 'method', 'status', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency, by service, route template, method, status and (errors) error code',
      labelNames: ['service', 'route', 'method', 'status', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
  return { registry, http };
}
