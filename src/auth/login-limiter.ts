// Login throttling: failed attempts are counted per username and per client
// address. Past the limit the key is locked, and each further failure doubles
// the lockout (capped), so guessing gets exponentially slower. A locked key
// answers 429 with Retry-After even for the right password.
//
// Counters live in the state store (`loginAttempts`, written on every change),
// so a restart neither forgives a locked-out attacker nor resets a count; an
// in-memory copy serves reads. prune() deletes counters that no longer matter
// (lock over and window passed); the auth maintenance loop runs it.
import type { StateAccess } from '../platform/state-store.js';

export interface LoginLimits {
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
  lockoutSeconds: number;
  maxLockoutSeconds: number;
  /** Failures older than this are forgotten (unless the key is locked). */
  windowSeconds: number;
}

export interface LoginCounter {
  failures: number;
  firstAt: number;
  lockedUntil: number;
}

/** Where counters persist; absent = memory only. */
export interface LoginCounterStore {
  get(key: string): Promise<LoginCounter | undefined>;
  put(key: string, counter: LoginCounter): Promise<void>;
  del(key: string): Promise<void>;
  entries(): AsyncIterable<[string, LoginCounter]>;
  /** Deletes many keys in one write. */
  delMany(keys: string[]): Promise<void>;
}

export interface LimiterPruneResult {
  pruned: number;
  counters: number;
  locked: number;
}

/** Counters kept in memory; beyond this the least recently loaded are forgotten (the store still has them). */
const MAX_CACHED = 100_000;

export function stateStoreCounters(state: () => StateAccess): LoginCounterStore {
  const db = () => state().sublevel<LoginCounter>('loginAttempts');
  return {
    get: (key) => db().get(key),
    put: (key, c) => db().put(key, c),
    del: (key) => db().del(key),
    entries: () => db().iterator(),
    delMany: (keys) => db().batch(keys.map((key) => ({ type: 'del' as const, key }))),
  };
}

export class LoginLimiter {
  /** null: known to have no counter. */
  private readonly counters = new Map<string, LoginCounter | null>();
  private readonly loading = new Map<string, Promise<LoginCounter | null>>();
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
    private readonly store?: LoginCounterStore,
  ) {}

  /** Seconds until this user/address may try again, or 0. */
  async retryAfter(username: string, ip: string): Promise<number> {
    const [u, a] = await Promise.all([this.load(`u:${username}`), this.load(`ip:${ip}`)]);
    const t = this.now();
    const until = Math.max(u?.lockedUntil ?? 0, a?.lockedUntil ?? 0);
    return until > t ? Math.ceil((until - t) / 1000) : 0;
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    await Promise.all([this.bump(`u:${username}`, this.limits.maxFailuresPerUser), this.bump(`ip:${ip}`, this.limits.maxFailuresPerIp)]);
  }

  /** A good login clears the username's count (not the address's: one valid account must not reset a spray). */
  async recordSuccess(username: string): Promise<void> {
    const key = `u:${username}`;
    if ((await this.load(key)) === null) return;
    this.counters.set(key, null);
    await this.persist(key);
  }

  /** Deletes counters whose lock is over and whose window has passed; counts what is left. */
  async prune(): Promise<LimiterPruneResult> {
    const t = this.now();
    let counters = 0;
    let locked = 0;
    let pruned = 0;
    const count = (c: LoginCounter) => {
      counters++;
      if (c.lockedUntil > t) locked++;
    };
    if (this.store) {
      let stale: string[] = [];
      const flush = async () => {
        // Checked again just before the write: a failure since the scan makes the key live again.
        const keys = stale.filter((k) => {
          const c = this.counters.get(k);
          return c === undefined || c === null || this.expired(c, t);
        });
        stale = [];
        for (const k of keys) this.counters.delete(k);
        if (keys.length > 0) await this.store!.delMany(keys);
        pruned += keys.length;
      };
      for await (const [key, stored] of this.store.entries()) {
        // The in-memory copy is the newer one when both exist.
        const c = this.counters.get(key) ?? stored;
        if (!this.expired(c, t)) count(c);
        else if (stale.push(key) >= 1000) await flush();
      }
      await flush();
    }
    for (const [key, c] of this.counters) {
      if (c === null || this.expired(c, t)) {
        this.counters.delete(key);
        if (c !== null && !this.store) pruned++;
      } else if (!this.store) count(c);
    }
    return { pruned, counters, locked };
  }

  private expired(c: LoginCounter, t: number): boolean {
    return c.lockedUntil <= t && t - c.firstAt > this.limits.windowSeconds * 1000;
  }

  /** One object per key, so concurrent failures count on the same counter. */
  private load(key: string): Promise<LoginCounter | null> {
    const cached = this.counters.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    if (!this.store) return Promise.resolve(null);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.store.get(key).then(
        (c) => {
          this.loading.delete(key);
          // A bump that raced ahead of this read wins.
          if (!this.counters.has(key)) this.remember(key, c ?? null);
          return this.counters.get(key) ?? null;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  private remember(key: string, c: LoginCounter | null): void {
    if (this.counters.size >= MAX_CACHED) {
      // Forget the oldest half of the cache (still in the store, reloaded on use); memory-only mode loses them,
      // as before persistence, rather than grow without bound under a flood of addresses.
      let n = 0;
      for (const k of this.counters.keys()) {
        if (n++ > MAX_CACHED / 2) break;
        this.counters.delete(k);
      }
    }
    this.counters.set(key, c);
  }

  private async bump(key: string, max: number): Promise<void> {
    await this.load(key);
    // Read again after the await: a concurrent failure may have created the counter meanwhile.
    let c = this.counters.get(key) ?? null;
    const t = this.now();
    if (c && this.expired(c, t)) c = null;
    if (!c) {
      c = { failures: 0, firstAt: t, lockedUntil: 0 };
      this.remember(key, c);
    }
    c.failures++;
    if (c.failures >= max) {
      const doublings = Math.min(c.failures - max, 20);
      const seconds = Math.min(this.limits.maxLockoutSeconds, this.limits.lockoutSeconds * 2 ** doublings);
      c.lockedUntil = t + seconds * 1000;
    }
    await this.persist(key);
  }

  /**
   * Writes the key's current in-memory state, one write per key at a time:
   * each write reads the state when it starts, so the last one stored is the
   * newest even if two changes came close together.
   */
  private persist(key: string): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    const previous = this.writing.get(key) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const c = this.counters.get(key);
        if (c === null) await store.del(key);
        else if (c !== undefined) await store.put(key, { ...c });
      });
    this.writing.set(key, next);
    void next.then(
      () => this.writing.get(key) === next && this.writing.delete(key),
      () => this.writing.get(key) === next && this.writing.delete(key),
    );
    return next;
  }
}
