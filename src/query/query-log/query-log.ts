// The durable query log: every query that ends (or is refused before it runs)
// becomes one row of the `query_log` table in the tenant data engine, written
// in batches off the request path (query-log-writer.ts), kept
// QUERY_LOG_RETENTION_DAYS by dropping whole days, and read back newest or
// slowest first for GET /query/history and the dashboard's console.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Errors } from '../../platform/errors.js';
import { utcDay, type QueryLogRow, type QueryLogTable } from '../../storage/clickhouse/query-log-table.js';
import type { EndedQuery } from '../query-registry.js';
import { boundText } from '../query-statement.js';
import { decodeCursor, encodeCursor, entryOf, type HistoryEntry, type HistoryQuery, type HistoryViewer } from './history-query.js';
import { QueryLogMetrics } from './metrics.js';
import { QueryLogWriter } from './query-log-writer.js';

export interface QueryLogSettings {
  retentionDays: number;
  flushIntervalMs: number;
  bufferEntries: number;
  /** How often old days are dropped. */
  retentionIntervalMs: number;
}

export interface QueryLogOptions {
  settings: QueryLogSettings;
  table: QueryLogTable;
  /** The engine behind the table: pinged to tell a refused batch from an engine that is down. */
  ping: () => Promise<void>;
  /** False until the engine is open: entries wait in the buffer, history answers 503. */
  ready: () => boolean;
  registry: Registry;
  logger: Logger;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  /** Pass as `cursor` for the next page; null when there is none. */
  nextCursor: string | null;
  sort: HistoryQuery['sort'];
}

const BATCH_ROWS = 1000;
const MAX_ERROR_BYTES = 1024;
const STOP_FLUSH_MS = 5000;
/** A history read that runs longer is stopped: narrow it with from/to or tenant. */
const HISTORY_TIMEOUT_MS = 15_000;
const DAY_MS = 86_400_000;

export class QueryLog {
  private readonly writer: QueryLogWriter;
  private readonly metrics: QueryLogMetrics;
  private readonly log: Logger;
  private retentionTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(private readonly opts: QueryLogOptions) {
    this.log = opts.logger.child({ component: 'query-log' });
    this.metrics = new QueryLogMetrics(opts.registry, () => this.writer.buffered);
    this.writer = new QueryLogWriter({
      sink: { insert: (rows) => opts.table.insert(rows), ping: opts.ping },
      maxBuffered: opts.settings.bufferEntries,
      batchRows: Math.min(BATCH_ROWS, opts.settings.bufferEntries),
      flushIntervalMs: opts.settings.flushIntervalMs,
      ready: opts.ready,
      metrics: this.metrics,
      logger: this.log,
    });
  }

  /** Records a query that ended; never waits, never throws (a full buffer counts a drop). */
  readonly record = (q: EndedQuery): void => {
    this.writer.push(rowOf(q));
  };

  start(): void {
    this.writer.start();
    // The first sweep once the engine is open, then on the interval.
    this.retentionTimer = setInterval(() => void this.sweep(), this.opts.settings.retentionIntervalMs);
    this.retentionTimer.unref();
    const first = setInterval(() => {
      if (!this.opts.ready()) return;
      clearInterval(first);
      void this.sweep();
    }, 1000);
    first.unref();
    this.firstSweep = first;
  }

  private firstSweep?: NodeJS.Timeout;

  /** Sends what is buffered now (tests, and shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  async stop(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.firstSweep) clearInterval(this.firstSweep);
    await this.writer.stop(STOP_FLUSH_MS);
    await this.sweeping;
  }

  /** Drops every day older than the retention; logs and goes on when ClickHouse does not answer. */
  sweep(now = Date.now()): Promise<void> {
    this.sweeping ??= (async () => {
      if (!this.opts.ready()) return;
      const cutoff = utcDay(now - this.opts.settings.retentionDays * DAY_MS);
      try {
        const days = await this.opts.table.dropDaysBefore(cutoff);
        if (days.length > 0) {
          this.metrics.partitionsDropped.inc(days.length);
          this.log.info({ days, cutoff, retentionDays: this.opts.settings.retentionDays }, 'query log retention: dropped old days');
        }
      } catch (err) {
        this.log.warn({ err, cutoff }, 'query log retention failed; retried at the next pass');
      }
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * One page of history for `scope` (a tenant, or undefined for every tenant),
   * filtered and sorted as `q` asks, shown as `viewer` may see it.
   */
  async history(q: HistoryQuery, scope: string | undefined, viewer: HistoryViewer, signal?: AbortSignal): Promise<HistoryPage> {
    if (!this.opts.ready()) throw Errors.notReady('ClickHouse (the query log lives there)');
    const after = q.cursor !== undefined ? decodeCursor(q.cursor, q.sort) : undefined;
    const timeout = AbortSignal.timeout(HISTORY_TIMEOUT_MS);
    const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let rows: QueryLogRow[];
    try {
      rows = await this.opts.table.select({
        ...(q.from !== undefined ? { fromMs: q.from } : {}),
        ...(q.to !== undefined ? { toMs: q.to } : {}),
        ...(scope !== undefined ? { tenant: scope } : {}),
        ...(q.principal !== undefined ? { principal: q.principal } : {}),
        ...(q.state ? { states: q.state } : {}),
        ...(q.minElapsedMs !== undefined ? { minElapsedMs: q.minElapsedMs } : {}),
        ...(q.hash !== undefined ? { normalizedHash: q.hash } : {}),
        sort: q.sort,
        ...(after ? { after: { key: after.key, id: after.id } } : {}),
        // One more than asked: whether there is a next page.
        limit: q.limit + 1,
        signal: bounded,
      });
    } catch (err) {
      if (timeout.aborted && !signal?.aborted) {
        throw Errors.storageFailure(`the history read ran longer than ${HISTORY_TIMEOUT_MS / 1000} s and was stopped; narrow it with from/to, tenant or principal`);
      }
      throw err;
    }
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const last = page[page.length - 1];
    return {
      entries: page.map((r) => entryOf(r, viewer)),
      nextCursor: more && last ? encodeCursor({ sort: q.sort, key: q.sort === 'slowest' ? last.elapsed_ms : last.end_ms, id: last.query_id }) : null,
      sort: q.sort,
    };
  }
}

/** The stored row of an ended query. */
export function rowOf(q: EndedQuery): QueryLogRow {
  const { info, statement } = q;
  return {
    date: utcDay(q.endedAtMs),
    end_ms: q.endedAtMs,
    start_ms: q.startedAtMs,
    query_id: info.id,
    tenant: info.tenant,
    principal: info.owner ?? '',
    role: info.role ?? '',
    state: info.state,
    kind: statement?.kind ?? '',
    via: info.via,
    format: info.format,
    query: statement?.text ?? '',
    query_bytes: statement?.textBytes ?? 0,
    query_truncated: statement?.truncated ? 1 : 0,
    normalized_query: statement?.normalized ?? '',
    normalized_query_hash: statement?.normalizedHash ?? '0',
    rows: info.rows,
    bytes: info.bytes,
    elapsed_ms: info.elapsedMs,
    error_code: info.errorCode ?? '',
    error: info.error ? boundText(info.error, MAX_ERROR_BYTES).text : '',
    user_agent: q.userAgent ? boundText(q.userAgent, 256).text : '',
  };
}
