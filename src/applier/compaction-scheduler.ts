// Runs compaction passes on a timer, one at a time, and lets shutdown wait for
// the merge in progress (a pass stops between merges once stop() is called).
// Merges are paced: after each, the pass waits as long as the merge took, or
// four times as long while records wait for the applier, so compaction keeps
// at most half of one core busy on average, and a fifth of one while ingest
// and the applier need the cores (the embedded engine also runs merges at
// the lowest CPU priority). Small parts pile up while a backlog drains and
// are merged once it has.
import type { Logger } from 'pino';
import { compactAll, type CompactionDeps, type CompactionOptions } from './compaction.js';

/** Pause after a merge, in merge durations, while records wait for the applier. */
const BUSY_PAUSE_FACTOR = 4;

export class CompactionScheduler {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private stopping = false;
  private wake?: () => void;

  constructor(
    private readonly deps: CompactionDeps,
    private readonly options: CompactionOptions & { intervalMs: number },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopping = false;
    this.timer ??= setInterval(() => {
      this.running = this.running.then(() => this.pass());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.wake?.();
    await this.running;
  }

  private async pass(): Promise<void> {
    if (this.stopping) return;
    try {
      const pace = (mergeMs: number) => this.pause(mergeMs * (this.deps.applier.lag.records > 0 ? BUSY_PAUSE_FACTOR : 1));
      const r = await compactAll(this.deps, this.options, pace, () => this.stopping);
      if (r.partsMerged > 0) this.log.info(r, 'compaction pass');
    } catch (err) {
      this.log.error({ err }, 'compaction pass failed; will retry');
    }
  }

  /** Waits `ms`, cut short by stop(). */
  private pause(ms: number): Promise<void> {
    if (this.stopping || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
