// Whether what a request or a service needs is usable right now. Boot answers
// it from the module graph (src/boot): a service is ready when every module its
// routes need has started and is healthy, and not while the process drains.

/** Infrastructure modules a single route may need beyond its service's (route `requires`). */
export type DependencyName = 'stateStore' | 'wal' | 'clickhouse' | 'applier';

export interface Readiness {
  /** For /ready: boot finished, not draining, and every named module open. */
  isOpen(names: readonly string[]): boolean;
  /** For requests: in-flight work may finish while draining, as long as its modules are open. */
  dependenciesOpen(names: readonly string[]): boolean;
  readonly isDraining: boolean;
  /** `boot` plus the state of each named module, for /ready. */
  report(names: readonly string[]): Record<string, string>;
}
