// Runs compaction passes on a timer, one at a time, and lets shutdown wait for
// the pass in progress.
import type { Logger } from 'pino';
import { compactAll, type CompactionDeps, type CompactionOptions } from './compaction.js';

export class CompactionScheduler {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: CompactionDeps,
    private readonly options: CompactionOptions & { intervalMs: number },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.running = this.running.then(() => this.pass());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async pass(): Promise<void> {
    try {
      const r = await compactAll(this.deps, this.options);
      if (r.partsMerged > 0) this.log.info(r, 'compaction pass');
    } catch (err) {
      this.log.error({ err }, 'compaction pass failed; will retry');
    }
  }
}
