// Query log metrics: entries written and dropped (why), the buffer's fill,
// failed writes and days dropped by retention.
import { Counter, Gauge, type Registry } from 'prom-client';

export type DropReason = 'buffer_full' | 'rejected' | 'shutdown';

export class QueryLogMetrics {
  readonly written: Counter;
  readonly dropped: Counter<'reason'>;
  readonly writeFailures: Counter;
  readonly partitionsDropped: Counter;

  constructor(registry: Registry, buffered: () => number) {
    this.written = new Counter({ name: 'query_log_entries_written_total', help: 'Query log entries stored in ClickHouse', registers: [registry] });
    this.dropped = new Counter({
      name: 'query_log_entries_dropped_total',
      help: 'Query log entries lost: buffer_full (ClickHouse unavailable too long), rejected (a batch ClickHouse kept refusing), shutdown (unwritten at stop)',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const reason of ['buffer_full', 'rejected', 'shutdown'] satisfies DropReason[]) this.dropped.inc({ reason }, 0);
    this.writeFailures = new Counter({ name: 'query_log_write_failures_total', help: 'Failed query log batch writes (each is retried)', registers: [registry] });
    this.partitionsDropped = new Counter({ name: 'query_log_partitions_dropped_total', help: 'Days of the query log dropped by retention', registers: [registry] });
    new Gauge({
      name: 'query_log_buffer_entries',
      help: 'Query log entries waiting to be written',
      registers: [registry],
      collect() {
        this.set(buffered());
      },
    });
  }
}
