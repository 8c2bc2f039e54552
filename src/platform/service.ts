// The one shape all seven services share. A service module is a plain object
// built from explicit deps: its routes, what it needs to be ready, and optional
// background work started and stopped with the process.
import type { ServiceId } from './config/schema.js';
import type { RouteSpec } from './http/route.js';
import type { DependencyName } from './readiness.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  reasons?: string[];
}

export interface ServiceModule {
  readonly id: ServiceId;
  /** Dependencies that must be open before /ready answers 200. */
  readonly dependencies: readonly DependencyName[];
  readonly routes: readonly RouteSpec[];
  /** Background work (appliers, pollers); called once dependencies are open. */
  start?(): Promise<void>;
  /** Stop background work; called before shared stores close. */
  stop?(): Promise<void>;
  /** Extra health facts (degraded workers, stalled applier…). */
  health?(): HealthReport;
}
