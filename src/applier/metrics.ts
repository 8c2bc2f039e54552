import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class ApplierMetrics {
  readonly lagRecords: Gauge;
  readonly lagSeconds: Gauge;
  readonly appliedRows: Counter;
  readonly duplicateRows: Counter;
  readonly batchSeconds: Histogram<'sink'>;
  readonly failures: Counter<'stage'>;
  readonly checkpoint: Gauge;
  readonly secondsSinceProgress: Gauge;
  readonly commitGapSeconds: Histogram;
  readonly longestCommitGapSeconds: Gauge;
  readonly compactionSeconds: Histogram<'stage'>;
  readonly compactedRows: Counter;
  /** Set by the applier; read at scrape time so lag is never stale. */
  lagSource: () => { records: number; seconds: number } = () => ({ records: 0, seconds: 0 });
  /** Set by the applier: seconds it has had work waiting without committing a batch. */
  progressSource: () => number = () => 0;

  constructor(registry: Registry) {
    const source = () => this.lagSource();
    this.lagRecords = new Gauge({
      name: 'applier_lag_wal_records',
      help: 'WAL records acknowledged but not yet applied to every sink',
      registers: [registry],
      collect() {
        this.set(source().records);
      },
    });
    this.lagSeconds = new Gauge({
      name: 'applier_lag_seconds',
      help: 'Age of the oldest acknowledged record not yet applied',
      registers: [registry],
      collect() {
        this.set(source().seconds);
      },
    });
    const sinceProgress = () => this.progressSource();
    this.secondsSinceProgress = new Gauge({
      name: 'applier_seconds_since_progress',
      help: 'Seconds the applier has had unapplied WAL records without committing a batch (0 when caught up)',
      registers: [registry],
      collect() {
        this.set(sinceProgress());
      },
    });
    this.appliedRows = new Counter({ name: 'applier_rows_applied_total', help: 'Rows written to the sinks', registers: [registry] });
    this.duplicateRows = new Counter({ name: 'applier_duplicate_rows_total', help: 'Rows skipped because their data_id was already stored', registers: [registry] });
    this.batchSeconds = new Histogram({
      name: 'applier_sink_duration_seconds',
      help: 'Time per applied batch, by stage: prepare (duplicates), clickhouse and parquet (side by side), commit (catalog, id index, checkpoint)',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.failures = new Counter({ name: 'applier_failures_total', help: 'Applier batch failures by stage', labelNames: ['stage'], registers: [registry] });
    this.checkpoint = new Gauge({ name: 'applier_checkpoint_lsn', help: 'Highest LSN applied to every sink', registers: [registry] });
    this.commitGapSeconds = new Histogram({
      name: 'applier_commit_gap_seconds',
      help: 'Time between two batch commits while records were waiting (a backlog draining)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    });
    this.longestCommitGapSeconds = new Gauge({
      name: 'applier_longest_commit_gap_seconds',
      help: 'Longest time between two batch commits while records were waiting, since the process started',
      registers: [registry],
    });
    this.compactionSeconds = new Histogram({
      name: 'compaction_duration_seconds',
      help: 'Compaction time per merge, by stage: merge (files, beside the applier) and swap (catalog, between batches)',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.compactedRows = new Counter({ name: 'compaction_rows_rewritten_total', help: 'Rows written into merged Parquet parts', registers: [registry] });
  }
}
