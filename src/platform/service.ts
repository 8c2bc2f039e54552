// The one shape all seven services share. A service module is a plain object
// built from explicit deps: its routes, what it needs to be ready, and optional
// background work started and stopped with the process.
import type { ServiceId } from './config/schema.js';
import type { RouteSpec } from './http/route.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  reasons?: string[];
}

export interface ServiceModule {
  readonly id: ServiceId;
  /** Modules its routes need open: /ready answers 200 only when all are (set by boot from the module graph). */
  readonly dependencies: readonly string[];
  /** Every module the service was built from, dependencies first (shown by /ready). */
  readonly modules?: readonly string[];
  readonly routes: readonly RouteSpec[];
  /** Background work (appliers, pollers); called once dependencies are open. */
  start?(): Promise<void>;
  /** Stop background work; called before shared stores close. */
  stop?(): Promise<void>;
  /** Extra health facts (degraded workers, stalled applier…). */
  health?(): HealthReport;
}

/** What a service's factory builds; boot adds `dependencies` from the module graph. */
export type ServiceDefinition = Omit<ServiceModule, 'dependencies'>;
