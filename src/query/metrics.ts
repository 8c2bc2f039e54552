// Query path metrics: queries by route and outcome, their duration and rows
// (executor), plans by scan source (planner). Registered into the process registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class QueryMetrics {
  readonly queries: Counter<'via' | 'state'>;
  readonly seconds: Histogram<'via'>;
  readonly rows: Counter<'via'>;
  readonly running: Gauge;
  readonly streamsCut: Counter<'via' | 'format'>;
  readonly freshnessWait: Histogram<'outcome'>;

  constructor(registry: Registry, runningNow: () => number) {
    this.streamsCut = new Counter({
      name: 'query_streams_cut_total',
      help: 'Query answers cut short because the client went away (the engine query is stopped), by entry point and format',
      labelNames: ['via', 'format'],
      registers: [registry],
    });
    this.freshnessWait = new Histogram({
      name: 'query_freshness_wait_seconds',
      help: 'Time queries waited for the applier to apply what they must see (read-after-write), by outcome: fresh, not_fresh (503), cancelled',
      labelNames: ['outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.queries = new Counter({ name: 'query_total', help: 'Queries finished, by entry point and final state', labelNames: ['via', 'state'], registers: [registry] });
    this.seconds = new Histogram({
      name: 'query_duration_seconds',
      help: 'Query wall time from registration to the last row',
      labelNames: ['via'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.rows = new Counter({ name: 'query_rows_total', help: 'Result rows returned', labelNames: ['via'], registers: [registry] });
    this.running = new Gauge({
      name: 'query_running',
      help: 'Queries running now',
      registers: [registry],
      collect() {
        this.set(runningNow());
      },
    });
  }
}

/** What the optimizer decided: scans by source and partitions pruned. */
export class PlannerMetrics {
  readonly scans: Counter<'source'>;
  readonly partitionsPruned: Counter;

  constructor(registry: Registry) {
    this.scans = new Counter({ name: 'query_plan_scans_total', help: 'Table scans planned, by source (clickhouse, parquet)', labelNames: ['source'], registers: [registry] });
    this.partitionsPruned = new Counter({ name: 'query_partitions_pruned_total', help: 'Time partitions skipped by the optimizer', registers: [registry] });
  }
}
