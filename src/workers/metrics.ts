// Metrics of the remote-worker feature: forwarded calls, fallbacks, breaker
// state per worker, registered workers and the job queue.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState } from './circuit-breaker.js';

export interface WorkerMetrics {
  forwarded: Counter<'service' | 'worker' | 'outcome'>;
  forwardDuration: Histogram<'service' | 'worker'>;
  fallbacks: Counter<'service' | 'reason'>;
  breakerState: Gauge<'service' | 'worker'>;
  healthChecks: Counter<'service' | 'worker' | 'outcome'>;
  jobs: Counter<'type' | 'event'>;
}

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export function registerWorkerMetrics(
  registry: Registry,
  sources: { liveWorkers: () => Record<string, number>; openJobs: () => Record<string, { queued: number; leased: number }> },
): WorkerMetrics {
  new Gauge({
    name: 'workers_registered',
    help: 'Registered workers with a recent heartbeat, by service',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [service, n] of Object.entries(sources.liveWorkers())) this.set({ service }, n);
    },
  });
  new Gauge({
    name: 'worker_jobs_open',
    help: 'Jobs queued or leased, by type and status',
    labelNames: ['type', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, c] of Object.entries(sources.openJobs())) {
        this.set({ type, status: 'queued' }, c.queued);
        this.set({ type, status: 'leased' }, c.leased);
      }
    },
  });
  return {
    forwarded: new Counter({
      name: 'worker_forward_requests_total',
      help: 'Calls forwarded to remote workers, by service, worker and outcome (ok, http_5xx, timeout, connect_error, error)',
      labelNames: ['service', 'worker', 'outcome'],
      registers: [registry],
    }),
    forwardDuration: new Histogram({
      name: 'worker_forward_duration_seconds',
      help: 'Latency of calls forwarded to remote workers',
      labelNames: ['service', 'worker'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'worker_fallback_total',
      help: 'Requests of designated routes answered locally (or refused) because no worker could take them, by reason',
      labelNames: ['service', 'reason'],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'worker_circuit_state',
      help: 'Circuit breaker of each worker: 0 closed, 1 half-open, 2 open',
      labelNames: ['service', 'worker'],
      registers: [registry],
    }),
    healthChecks: new Counter({
      name: 'worker_health_checks_total',
      help: 'Active health checks (GET /health) of workers, by outcome',
      labelNames: ['service', 'worker', 'outcome'],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'worker_jobs_total',
      help: 'Job queue events (enqueued, leased, completed, failed, lease_expired), by job type',
      labelNames: ['type', 'event'],
      registers: [registry],
    }),
  };
}
