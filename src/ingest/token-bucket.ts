// A token bucket: `rate` tokens per second up to `burst`. take() either takes
// all it asks for or nothing and says how long until it could.
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    private burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  reconfigure(rate: number, burst: number): void {
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  get capacity(): number {
    return this.burst;
  }

  /** Returns 0 when taken, else the seconds to wait before the same request could pass. */
  take(n: number, now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (n <= this.tokens) {
      this.tokens -= n;
      return 0;
    }
    return (n - this.tokens) / this.rate;
  }
}
