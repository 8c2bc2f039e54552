// Per-column statistics the optimizer estimates with: distinct count, null
// fraction and (numeric columns) min/max. Computed by one aggregate query per
// table on ClickHouse and kept in the catalog sublevel under our own prefix
// (`qstats\0<tenant>\0<table>`), next to the applier's entries. Statistics a
// remote worker posted (`colstats\0…`: a column-stats job, see src/workers)
// add what one aggregate cannot give cheaply, the shape of each column's
// values: most common values with their frequencies and equi-depth histograms
// (selectivity.ts uses them for equality and ranges); while ours are missing,
// the worker's stand in for them entirely. An entry
// remembers the table's `updatedAt`; when the applier changes the table the
// entry is stale and is recomputed (by the background refresher, or on demand),
// at once when the row count moved by more than 20 %, else at most once a minute.
import type { Logger } from 'pino';
import type { CatalogStore, TableEntry } from '../catalog/catalog-store.js';
import type { ClickHouseEngine } from '../storage/clickhouse/clickhouse-engine.js';
import { quoteIdentifier } from '../storage/clickhouse/sql-literal.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { queryColumnStatsKey } from '../storage/physical-names.js';
import type { ColumnStats as WorkerStats, ColumnValue } from '../catalog/column-stats-sink.js';
import { columnsOf } from './binder.js';

export interface ColumnStat {
  distinct: number;
  nullFraction: number;
  min?: number;
  max?: number;
  /** Most common values and their share of all rows (from a worker's sample). */
  mcv?: ReadonlyArray<{ value: ColumnValue; frequency: number }>;
  /** Equi-depth histogram bounds, time as epoch ms (from a worker's sample). */
  histogram?: readonly number[];
}

export interface TableStats {
  tenant: string;
  table: string;
  rowCount: number;
  columns: Record<string, ColumnStat>;
  computedAt: number;
  /** TableEntry.updatedAt these stats describe. */
  tableUpdatedAt: number;
}

/** Where the statistics of one tenant table are kept (catalog sublevel). */
export const statsKey = queryColumnStatsKey;
// The payload JSON is kept out: a distinct count of whole documents costs much and tells little.
const SKIP = new Set(['payload']);
const NUMERIC = new Set(['Float64', 'Int64', 'UInt64', 'UInt8']);
const FAILURE_BACKOFF_MS = 30_000;
// A changed table is recomputed at once when its row count drifted by more than
// STALE_DRIFT, otherwise at most every MIN_REFRESH_MS: the stats query scans the table.
const MIN_REFRESH_MS = 60_000;
const STALE_DRIFT = 0.2;
// Worker statistics are read again after this long: another process may have stored newer ones.
const WORKER_STATS_TTL_MS = 5_000;

/** A worker's column as the optimizer reads it: numeric min/max only, the table-wide distinct estimate. */
function fromWorker(c: WorkerStats['columns'][string]): ColumnStat {
  const stat: ColumnStat = { distinct: Math.max(c.distinct, Math.round(c.distinctEstimate ?? 0)), nullFraction: c.nullFraction };
  if (typeof c.min === 'number' && typeof c.max === 'number') {
    stat.min = c.min;
    stat.max = c.max;
  } else if (c.histogram) {
    stat.min = c.histogram.bounds[0];
    stat.max = c.histogram.bounds.at(-1);
  }
  if (c.mcv?.length) stat.mcv = c.mcv;
  if (c.histogram) stat.histogram = c.histogram.bounds;
  return stat;
}

/** Ours (counts over the whole table), with the worker's distribution shape where it has one. */
function merged(own: TableStats | undefined, worker: WorkerStats | undefined, tenant: string, table: string): TableStats | undefined {
  if (!worker?.columns) return own;
  const theirs = Object.fromEntries(Object.entries(worker.columns).map(([name, c]) => [name, fromWorker(c)]));
  // tableUpdatedAt -1: never fresh, so our own refresh still runs.
  if (!own) return { tenant, table, rowCount: worker.tableRows ?? worker.sampledRows, columns: theirs, computedAt: worker.at, tableUpdatedAt: -1 };
  const columns: Record<string, ColumnStat> = {};
  for (const [name, mine] of Object.entries(own.columns)) {
    const w = theirs[name];
    columns[name] = w ? { ...mine, ...(w.mcv ? { mcv: w.mcv } : {}), ...(w.histogram ? { histogram: w.histogram } : {}) } : mine;
  }
  return { ...own, columns, computedAt: Math.max(own.computedAt, worker.at) };
}

function isStale(have: TableStats | undefined, entry: TableEntry): boolean {
  if (!have) return true;
  if (have.tableUpdatedAt === entry.updatedAt) return false;
  const drift = Math.abs(entry.rowCount - have.rowCount) / Math.max(1, have.rowCount);
  return drift > STALE_DRIFT || Date.now() - have.computedAt >= MIN_REFRESH_MS;
}

export class ColumnStatsStore {
  private readonly memo = new Map<string, TableStats>();
  private readonly inFlight = new Map<string, Promise<TableStats | undefined>>();
  /** Tables whose stats query failed, and when: retried only after FAILURE_BACKOFF_MS. */
  private readonly failedAt = new Map<string, number>();
  /** Worker statistics by table, and when they were read. */
  private readonly workerMemo = new Map<string, { readAt: number; stats: WorkerStats | undefined }>();
  private timer: NodeJS.Timeout | undefined;
  refreshes = 0;

  constructor(
    private readonly deps: {
      catalog: () => CatalogStore;
      engine: () => ClickHouseEngine;
      tables: () => TenantTables;
      logger: Logger;
    },
  ) {}


  /** Stored stats (possibly stale) with a worker's where there are some, or undefined. */
  async get(tenant: string, table: string): Promise<TableStats | undefined> {
    return merged(await this.own(tenant, table), await this.workerStats(tenant, table), tenant, table);
  }

  /** Our own stats of a table (possibly stale). */
  private async own(tenant: string, table: string): Promise<TableStats | undefined> {
    const key = statsKey(tenant, table);
    const cached = this.memo.get(key);
    if (cached) return cached;
    const stored = await this.deps.catalog().getColumnStats<TableStats>('computed', tenant, table);
    if (stored) this.memo.set(key, stored);
    return stored;
  }

  private async workerStats(tenant: string, table: string): Promise<WorkerStats | undefined> {
    const key = statsKey(tenant, table);
    const now = Date.now();
    const had = this.workerMemo.get(key);
    if (had && now - had.readAt < WORKER_STATS_TTL_MS) return had.stats;
    const stats = await this.deps.catalog().getColumnStats<WorkerStats>('worker', tenant, table);
    this.workerMemo.set(key, { readAt: now, stats });
    return stats;
  }

  /** Reads a table's worker statistics again on next use (a column-stats job just stored new ones). */
  forgetWorkerStats(tenant: string, table: string): void {
    this.workerMemo.delete(statsKey(tenant, table));
  }

  /** Stats for planning: fresh ones if already there, else whatever exists while a refresh runs in the background. */
  async forPlanning(entry: TableEntry): Promise<TableStats | undefined> {
    const own = await this.own(entry.tenant, entry.table);
    if (isStale(own, entry)) void this.refresh(entry).catch(() => {});
    return merged(own, await this.workerStats(entry.tenant, entry.table), entry.tenant, entry.table);
  }

  /** Recomputes one table's stats (deduplicated while one is running). */
  refresh(entry: TableEntry): Promise<TableStats | undefined> {
    const key = statsKey(entry.tenant, entry.table);
    const running = this.inFlight.get(key);
    if (running) return running;
    const failed = this.failedAt.get(key);
    if (failed !== undefined && Date.now() - failed < FAILURE_BACKOFF_MS) return Promise.resolve(undefined);
    const p = this.compute(entry).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** Recomputes every table whose catalog entry changed since its stats were taken. */
  async refreshStale(): Promise<number> {
    let n = 0;
    for (const entry of await this.deps.catalog().listTables()) {
      if (!isStale(await this.own(entry.tenant, entry.table), entry)) continue;
      await this.refresh(entry);
      n++;
    }
    return n;
  }

  start(intervalMs: number): void {
    if (this.timer) return;
    const tick = () => {
      this.refreshStale()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'column stats refresh failed'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async compute(entry: TableEntry): Promise<TableStats | undefined> {
    // A table is catalogued when first ingested, before the applier creates it in ClickHouse.
    if (entry.rowCount === 0) return undefined;
    const cols = [...columnsOf(entry)].filter(([name]) => !SKIP.has(name));
    const exprs = ['count() AS n'];
    cols.forEach(([name, type], i) => {
      const c = quoteIdentifier(name);
      exprs.push(`uniq(${c}) AS d${i}`, `countIf(isNull(${c})) AS z${i}`);
      if (NUMERIC.has(type)) exprs.push(`toFloat64(min(${c})) AS lo${i}`, `toFloat64(max(${c})) AS hi${i}`);
    });
    const sql = `SELECT ${exprs.join(', ')} FROM ${this.deps.tables().tableName(entry.tenant, entry.table)}`;
    let row: Record<string, unknown> | undefined;
    try {
      [row] = await this.deps.engine().query(sql);
    } catch (err) {
      // A table the applier has not created yet has no stats; retried after a back-off.
      this.failedAt.set(statsKey(entry.tenant, entry.table), Date.now());
      this.deps.logger.debug({ err, tenant: entry.tenant, table: entry.table }, 'column stats not computed');
      return undefined;
    }
    if (!row) return undefined;
    const n = Number(row.n ?? 0);
    const columns: Record<string, ColumnStat> = {};
    cols.forEach(([name, type], i) => {
      const stat: ColumnStat = { distinct: Number(row[`d${i}`] ?? 0), nullFraction: n > 0 ? Number(row[`z${i}`] ?? 0) / n : 0 };
      if (NUMERIC.has(type) && n > 0) {
        const lo = Number(row[`lo${i}`]);
        const hi = Number(row[`hi${i}`]);
        if (Number.isFinite(lo)) stat.min = lo;
        if (Number.isFinite(hi)) stat.max = hi;
      }
      columns[name] = stat;
    });
    const stats: TableStats = { tenant: entry.tenant, table: entry.table, rowCount: n, columns, computedAt: Date.now(), tableUpdatedAt: entry.updatedAt };
    const key = statsKey(entry.tenant, entry.table);
    await this.deps.catalog().putColumnStats('computed', entry.tenant, entry.table, stats);
    this.memo.set(key, stats);
    this.failedAt.delete(key);
    this.refreshes++;
    return stats;
  }
}
