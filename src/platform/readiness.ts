// Which shared dependencies are usable right now. Services declare what they
// need; /ready answers 503 until all of those are open.
export type DependencyName = 'stateStore' | 'wal' | 'clickhouse' | 'applier';
export type DependencyState = 'pending' | 'open' | 'failed' | 'closed';

export class Readiness {
  private readonly states = new Map<DependencyName, { state: DependencyState; detail?: string }>();
  private draining = false;
  private booted = false;

  set(name: DependencyName, state: DependencyState, detail?: string): void {
    this.states.set(name, { state, detail });
  }

  stateOf(name: DependencyName): DependencyState {
    return this.states.get(name)?.state ?? 'pending';
  }

  /** For /ready: true once boot finished and the stores are open; false again once draining. */
  isOpen(names: readonly DependencyName[]): boolean {
    return this.booted && !this.draining && this.dependenciesOpen(names);
  }

  /** Every service's background work has started. */
  markBooted(): void {
    this.booted = true;
  }

  /** For requests: in-flight work may finish while draining, as long as its stores are open. */
  dependenciesOpen(names: readonly DependencyName[]): boolean {
    return names.every((n) => this.stateOf(n) === 'open');
  }

  /** Once shutdown starts, every service reports not ready so balancers stop sending traffic. */
  markDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  report(names: readonly DependencyName[]): Record<string, string> {
    const out: Record<string, string> = { boot: this.booted ? 'done' : 'starting' };
    for (const n of names) {
      const s = this.states.get(n);
      out[n] = s?.detail ? `${s.state}: ${s.detail}` : (s?.state ?? 'pending');
    }
    return out;
  }
}
