// Writes query log rows in batches, off the request path: a query that ends
// only appends its row to a bounded buffer (push never waits and never
// throws); a timer sends what is buffered, at most `batchRows` per insert.
//
// When ClickHouse does not take a batch, the same batch is sent again later
// (backoff up to maxBackoffMs), unchanged, so a replicated table's block
// deduplication can drop a copy that did land. Meanwhile rows keep arriving in
// the buffer; once it holds `maxBuffered` rows, new rows are dropped and
// counted (query_log_entries_dropped_total{reason="buffer_full"}): a long
// outage costs log entries, never a blocked or failed query. A batch that
// keeps failing while the engine answers pings is the batch's own problem (a
// row ClickHouse refuses): it is dropped after `rejectAfterAttempts` (reason
// "rejected"), so one bad row cannot stop the log.
import type { Logger } from 'pino';
import type { QueryLogRow } from '../../storage/clickhouse/query-log-table.js';
import type { QueryLogMetrics } from './metrics.js';

export interface QueryLogSink {
  insert(rows: readonly QueryLogRow[]): Promise<void>;
  /** Resolves when the engine answers at all. */
  ping(): Promise<void>;
}

export interface QueryLogWriterOptions {
  sink: QueryLogSink;
  /** Rows held at most (waiting and in flight); more are dropped. */
  maxBuffered: number;
  /** Rows per insert. */
  batchRows: number;
  flushIntervalMs: number;
  /** False until the engine is open: rows wait (up to maxBuffered). */
  ready: () => boolean;
  metrics: QueryLogMetrics;
  logger: Logger;
  maxBackoffMs?: number;
  rejectAfterAttempts?: number;
}

const DEFAULT_MAX_BACKOFF_MS = 30_000;
const DEFAULT_REJECT_AFTER = 5;
/** A warning about the same trouble at most this often. */
const WARN_EVERY_MS = 60_000;

export class QueryLogWriter {
  private pending: QueryLogRow[] = [];
  private inFlight?: { rows: QueryLogRow[]; attempts: number };
  private flushing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private kicked = false;
  private failures = 0;
  private retryAt = 0;
  private stopped = false;
  private lastWarnAt = -Infinity;
  private droppedSinceWarn = 0;

  constructor(private readonly opts: QueryLogWriterOptions) {}

  /** Rows waiting or in flight. */
  get buffered(): number {
    return this.pending.length + (this.inFlight?.rows.length ?? 0);
  }

  /** Appends a row; false when it was dropped (buffer full or stopped). Never waits. */
  push(row: QueryLogRow): boolean {
    if (this.stopped || this.buffered >= this.opts.maxBuffered) {
      this.dropFull();
      return false;
    }
    this.pending.push(row);
    // A full batch goes soon rather than at the next tick (unless backing off).
    if (this.pending.length >= this.opts.batchRows && !this.kicked && this.timer) {
      this.kicked = true;
      setImmediate(() => {
        this.kicked = false;
        this.tick();
      });
    }
    return true;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Sends everything buffered, batch by batch, until done or a batch fails. One flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timer and sends what is left, for at most `timeoutMs`; what is still unsent is counted as dropped. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.opts.ready() && this.buffered > 0) {
      this.retryAt = 0;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.flush(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    this.stopped = true;
    const left = this.buffered;
    if (left > 0) {
      this.opts.metrics.dropped.inc({ reason: 'shutdown' }, left);
      this.opts.logger.warn({ entries: left }, 'query log: entries not written before stop');
      this.pending = [];
      this.inFlight = undefined;
    }
  }

  private tick(): void {
    if (this.stopped || this.flushing || !this.opts.ready() || this.buffered === 0) return;
    if (Date.now() < this.retryAt) return;
    void this.flush();
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.inFlight) {
        if (this.pending.length === 0) return;
        this.inFlight = { rows: this.pending.splice(0, this.opts.batchRows), attempts: 0 };
      }
      const batch = this.inFlight;
      try {
        await this.opts.sink.insert(batch.rows);
      } catch (err) {
        batch.attempts++;
        this.failures++;
        this.opts.metrics.writeFailures.inc();
        if (batch.attempts >= (this.opts.rejectAfterAttempts ?? DEFAULT_REJECT_AFTER) && (await this.engineAnswers())) {
          // The engine is up and still refuses this batch: its rows are the problem.
          this.opts.metrics.dropped.inc({ reason: 'rejected' }, batch.rows.length);
          this.opts.logger.error({ err, entries: batch.rows.length, attempts: batch.attempts }, 'query log: ClickHouse keeps refusing a batch; dropped');
          if (this.inFlight === batch) this.inFlight = undefined;
          continue;
        }
        const backoff = Math.min(this.opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, this.opts.flushIntervalMs * 2 ** Math.min(this.failures, 10));
        this.retryAt = Date.now() + backoff;
        this.warn({ err, buffered: this.buffered, retryInMs: backoff }, 'query log: cannot write to ClickHouse; entries wait in the buffer');
        return;
      }
      this.opts.metrics.written.inc(batch.rows.length);
      if (this.inFlight === batch) this.inFlight = undefined;
      this.failures = 0;
      this.retryAt = 0;
    }
  }

  private async engineAnswers(): Promise<boolean> {
    try {
      await this.opts.sink.ping();
      return true;
    } catch {
      return false;
    }
  }

  private dropFull(): void {
    this.opts.metrics.dropped.inc({ reason: 'buffer_full' });
    this.droppedSinceWarn++;
    this.warn({ dropped: this.droppedSinceWarn, maxBuffered: this.opts.maxBuffered }, 'query log: buffer full (ClickHouse unavailable too long); entries dropped');
  }

  private warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.droppedSinceWarn = 0;
    this.opts.logger.warn(fields, msg);
  }
}
