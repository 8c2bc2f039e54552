// Login throttling: failed attempts are counted per username and per client
// address. Past the limit the key is locked, and each further failure doubles
// the lockout (capped), so guessing gets exponentially slower. A locked key
// answers 429 with Retry-After even for the right password.
export interface LoginLimits {
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
  lockoutSeconds: number;
  maxLockoutSeconds: number;
  /** Failures older than this are forgotten (unless the key is locked). */
  windowSeconds: number;
}

interface Counter {
  failures: number;
  firstAt: number;
  lockedUntil: number;
}

const MAX_KEYS = 100_000;

export class LoginLimiter {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until this user/address may try again, or 0. */
  retryAfter(username: string, ip: string): number {
    const t = this.now();
    const until = Math.max(this.counters.get(`u:${username}`)?.lockedUntil ?? 0, this.counters.get(`ip:${ip}`)?.lockedUntil ?? 0);
    return until > t ? Math.ceil((until - t) / 1000) : 0;
  }

  recordFailure(username: string, ip: string): void {
    this.bump(`u:${username}`, this.limits.maxFailuresPerUser);
    this.bump(`ip:${ip}`, this.limits.maxFailuresPerIp);
  }

  /** A good login clears the username's count (not the address's: one valid account must not reset a spray). */
  recordSuccess(username: string): void {
    this.counters.delete(`u:${username}`);
  }

  private bump(key: string, max: number): void {
    const t = this.now();
    let c = this.counters.get(key);
    if (c && c.lockedUntil <= t && t - c.firstAt > this.limits.windowSeconds * 1000) c = undefined;
    if (!c) {
      if (this.counters.size >= MAX_KEYS) this.prune(t);
      c = { failures: 0, firstAt: t, lockedUntil: 0 };
      this.counters.set(key, c);
    }
    c.failures++;
    if (c.failures >= max) {
      const doublings = Math.min(c.failures - max, 20);
      const seconds = Math.min(this.limits.maxLockoutSeconds, this.limits.lockoutSeconds * 2 ** doublings);
      c.lockedUntil = t + seconds * 1000;
    }
  }

  private prune(t: number): void {
    for (const [k, c] of this.counters) {
      if (c.lockedUntil <= t && t - c.firstAt > this.limits.windowSeconds * 1000) this.counters.delete(k);
    }
    // Still full (an attack from many addresses): forget the oldest half rather than grow without bound.
    if (this.counters.size >= MAX_KEYS) {
      let n = 0;
      for (const k of this.counters.keys()) {
        if (n++ > MAX_KEYS / 2) break;
        this.counters.delete(k);
      }
    }
  }
}
