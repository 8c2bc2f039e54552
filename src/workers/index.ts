// The remote-worker feature's public face for the rest of the code base.
import type { ServiceDeps } from '../services/service-deps.js';
import { workersRuntime } from './worker-runtime.js';

export { withWorkers, CALLBACK_SERVICE } from './with-workers.js';
export { DESIGNATED_ROUTES } from './designated-routes.js';
export { StateStoreColumnStatsSink, columnStatsKey, type ColumnStats, type ColumnStatsSink } from './column-stats-sink.js';

/**
 * Registered workers (id, service, URL, routes, job types, capacity, version,
 * heartbeat age, up/expired), forwarding targets per service with their
 * circuit state, and open jobs by type: for GET /nodes/status.
 */
export function workerStatus(deps: ServiceDeps) {
  return workersRuntime(deps).status();
}

/** Whether a live worker has declared it takes jobs of this type. */
export function hasWorkerFor(deps: ServiceDeps, type: string): boolean {
  return workersRuntime(deps).registry.list().some((w) => w.status === 'up' && w.jobTypes.includes(type));
}

/** Enqueue a job from inside the control plane (e.g. the CBO asking for fresh column statistics). */
export function enqueueJob(deps: ServiceDeps, type: 'column-stats' | 'retention-sweep', payload: Record<string, unknown>) {
  return workersRuntime(deps).queue.enqueue(type, payload);
}
