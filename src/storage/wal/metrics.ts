// The WAL's own metrics: how long each group commit's durable write took and
// how many appends shared it.
import { Histogram, type Registry } from 'prom-client';
import type { WalFsyncEvent } from './types.js';

export class WalMetrics {
  readonly fsyncSeconds: Histogram;
  readonly groupSize: Histogram;

  constructor(registry: Registry) {
    this.fsyncSeconds = new Histogram({
      name: 'wal_fsync_duration_seconds',
      help: 'Time per group commit spent in its durable (O_DSYNC) write, which includes the fsync',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5],
      registers: [registry],
    });
    this.groupSize = new Histogram({
      name: 'wal_group_commit_size',
      help: 'Appends that shared one fsync',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    });
  }

  readonly onFsync = (e: WalFsyncEvent): void => {
    this.fsyncSeconds.observe(e.durationSeconds);
    this.groupSize.observe(e.appends);
  };
}
