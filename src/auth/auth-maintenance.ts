// Auth upkeep on a schedule (SESSION_PRUNE_INTERVAL_MS): ended sessions and
// their refresh tokens are deleted, and so are failed-login counters that no
// longer lock or count; the metrics say what is left. The first pass runs at
// start, in the background, so a big store never delays the gateway's boot.
import type { Logger } from 'pino';
import type { LimiterPruneResult, LoginLimiter } from './login-limiter.js';
import type { AuthMetrics } from './metrics.js';
import type { PruneResult, SessionStore } from './session-store.js';

export interface MaintenanceResult {
  sessions: PruneResult;
  logins: LimiterPruneResult;
}

export class AuthMaintenance {
  private timer?: NodeJS.Timeout;
  private running?: Promise<MaintenanceResult | undefined>;
  private lastErrorAt = 0;

  constructor(
    private readonly deps: { sessions: SessionStore; loginLimiter: LoginLimiter; metrics: AuthMetrics; logger: Logger; intervalMs: number },
  ) {}

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass now (or the one in progress); never throws. */
  tick(): Promise<MaintenanceResult | undefined> {
    this.running ??= this.runOnce()
      .then((r) => {
        this.deps.metrics.maintenanceRuns.inc({ outcome: 'ok' });
        return r;
      })
      .catch((err: unknown) => {
        this.deps.metrics.maintenanceRuns.inc({ outcome: 'failed' });
        // At most one line a minute: a store that stays broken must not flood the log.
        if (Date.now() - this.lastErrorAt > 60_000) this.deps.logger.error({ err }, 'auth maintenance failed');
        this.lastErrorAt = Date.now();
        return undefined;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async runOnce(): Promise<MaintenanceResult> {
    const { metrics } = this.deps;
    const sessions = await this.deps.sessions.prune();
    const logins = await this.deps.loginLimiter.prune();
    metrics.sessionsPruned.inc(sessions.pruned);
    metrics.sessions.set(sessions.remaining);
    metrics.loginCounters.set({ state: 'locked' }, logins.locked);
    metrics.loginCounters.set({ state: 'counting' }, logins.counters - logins.locked);
    if (sessions.pruned > 0 || logins.pruned > 0) {
      this.deps.logger.info({ prunedSessions: sessions.pruned, sessions: sessions.remaining, prunedLoginCounters: logins.pruned, loginCounters: logins.counters }, 'auth maintenance pruned');
    }
    return { sessions, logins };
  }
}
