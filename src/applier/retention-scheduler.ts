// Enforces each tenant's retention (TTL): periodically, every tenant with
// `retentionDays` gets its data older than that dropped from both sinks. With
// DISTRIBUTED_MODE and a live worker that takes retention-sweep jobs, the sweep
// is a job (the worker calls POST /data/retention/sweep back); otherwise the
// control plane sweeps itself.
import type { Logger } from 'pino';
import { sweepRetention, type RetentionDeps, type SweepResult } from './retention.js';

const DAY_MS = 86_400_000;

export interface RetentionSchedulerDeps {
  sinks: RetentionDeps;
  /** Every tenant with its retention setting (from the tenant records). */
  tenants: () => Promise<Array<{ id: string; retentionDays?: number | null; disabled?: boolean }>>;
  /** Returns true when the sweep was handed to a worker as a job. */
  delegate?: (tenant: string, beforeMs: number) => Promise<boolean>;
  logger: Logger;
  intervalMs: number;
  /** Told of every sweep that dropped data (boot records it in the audit log as system:retention). */
  onSwept?: (tenant: { id: string; retentionDays: number }, result: SweepResult) => Promise<void>;
}

export class RetentionScheduler {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RetentionSchedulerDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.runOnce().then(() => undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over all tenants; returns what was done per tenant. */
  async runOnce(now = Date.now()): Promise<Array<{ tenant: string; via: 'worker' | 'local'; rowsDeleted?: number }>> {
    const done: Array<{ tenant: string; via: 'worker' | 'local'; rowsDeleted?: number }> = [];
    for (const t of await this.deps.tenants()) {
      if (!t.retentionDays || t.disabled) continue;
      const before = now - t.retentionDays * DAY_MS;
      try {
        if (await this.deps.delegate?.(t.id, before)) {
          done.push({ tenant: t.id, via: 'worker' });
          continue;
        }
        const r = await sweepRetention(this.deps.sinks, t.id, undefined, before);
        if (r.rowsDeleted > 0 || r.partitionsDropped > 0) {
          this.deps.logger.info({ tenant: t.id, retentionDays: t.retentionDays, ...r }, 'retention applied');
          await this.deps.onSwept?.({ id: t.id, retentionDays: t.retentionDays }, r);
        }
        done.push({ tenant: t.id, via: 'local', rowsDeleted: r.rowsDeleted });
      } catch (err) {
        this.deps.logger.error({ err, tenant: t.id }, 'retention sweep failed; will retry next pass');
      }
    }
    return done;
  }
}
