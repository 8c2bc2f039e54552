// Which shared dependencies are usable right now. Services declare what they
// need; /ready answers 503 until all of those are open.
export type DependencyName = 'stateStore' | 'wal' | 'clickhouse' | 'applier';
export type DependencyState = 'pending' | 'open' | 'failed' | 'closed';

export class Readiness {
  private readonly states = new Map<DependencyName, { state: DependencyState; detail?: string }>();
  private draining = false;

  set(name: DependencyName, state: DependencyState, detail?: string): void {
    this.states.set(name, { state, detail });
  }

  stateOf(name: DependencyName): DependencyState {
    return this.states.get(name)?.state ?? 'pending';
  }

  /** For /ready: false once draining, so balancers stop sending new traffic. */
  isOpen(names: readonly DependencyName[]): boolean {
    return !this.draining && this.dependenciesOpen(names);
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
    const out: Record<string, string> = {};
    for (const n of names) {
      const s = this.states.get(n);
      out[n] = s?.detail ? `${s.state}: ${s.detail}` : (s?.state ?? 'pending');
    }
    return out;
  }
}
