// One circuit breaker per worker endpoint. Closed: calls flow and consecutive
// failures are counted; at the threshold it opens and sends nothing for
// `openMs`; then it is half-open and lets exactly one trial through (a live
// call or an active health check): success closes it, failure opens it again.
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold: number;
  openMs: number;
  now?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private opened = false;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(
    private readonly opts: BreakerOptions,
    private readonly onChange?: (state: BreakerState) => void,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (!this.opened) return 'closed';
    return this.now() - this.openedAt >= this.opts.openMs ? 'half-open' : 'open';
  }

  /** Whether a call may be sent now, without taking the half-open trial slot. */
  get allows(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half-open' && !this.trialInFlight);
  }

  /**
   * Takes permission for one call: always in closed, the single trial slot in
   * half-open, never in open. The caller must report the outcome.
   */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  onSuccess(): void {
    const was = this.state;
    this.failures = 0;
    this.trialInFlight = false;
    this.opened = false;
    if (was !== 'closed') this.onChange?.('closed');
  }

  onFailure(): void {
    this.trialInFlight = false;
    if (this.opened) {
      // A failed trial (or a late failure of a call sent before opening) restarts the open period.
      this.openedAt = this.now();
      this.onChange?.('open');
      return;
    }
    this.failures++;
    if (this.failures >= this.opts.failureThreshold) {
      this.opened = true;
      this.openedAt = this.now();
      this.onChange?.('open');
    }
  }

  /** Gives back a trial slot whose call ended without telling us anything (client went away). */
  release(): void {
    this.trialInFlight = false;
  }
}
