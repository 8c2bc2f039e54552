// Drains the WAL into both sinks in batches, then commits parts, table stats,
// the data_id index and the checkpoint in one LevelDB batch, and only then lets
// the WAL drop segments. Exactly-once comes from three facts:
//  - rows whose (tenant, table, data_id) is already in the committed index are
//    skipped (client retries, replays of committed batches);
//  - ClickHouse inserts skip ids already present (a crash after the insert but
//    before the commit); in cluster mode the store re-sends the identical
//    block instead, which the replicas deduplicate;
//  - Parquet parts past the checkpoint are deleted before a batch is (re)tried,
//    and part names are LSN ranges, so a replay rewrites rather than adds.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { partEntryOf, type CatalogStore, type PartEntry, type TableEntry } from '../catalog/catalog-store.js';
import type { PendingRecords, WalBatch } from '../ingest/pending-records.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import { decodeBatch } from '../ingest/wal-entry.js';
import { SLICE_ROWS } from '../platform/slices.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { idIndexKey, idIndexRange, tableRefKey } from '../storage/physical-names.js';
import type { ParquetSink, WrittenPart } from '../storage/parquet/index.js';
import type { ColumnSpec, StoredRecord } from '../storage/record-types.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import type { ApplierMetrics } from './metrics.js';
import type { RowRenderer } from './row-renderer.js';
import { packEntries, type GroupToRender, type RenderedGroup } from './row-rendering.js';

export interface ApplierDeps {
  wal: WriteAheadLog;
  catalog: CatalogStore;
  schemas: TableSchemas;
  tables: TenantTables;
  parquet: ParquetSink;
  pending: PendingRecords;
  metrics: ApplierMetrics;
  logger: Logger;
  /** Renders rows for both sinks off the main thread; without one the sinks get decoded records. */
  renderer?: RowRenderer;
  batchRecords: number;
  /** Backlog (pending rows) from which the next batch is rendered while the current one is written. */
  renderAheadPendingRows: number;
  intervalMs: number;
}

export type ApplierState = 'idle' | 'applying' | 'retrying' | 'stopped';

/** The new rows of one tenant table in a batch, in LSN order. */
interface TableGroup {
  tenant: string;
  table: string;
  columns: ColumnSpec[];
  records: StoredRecord[];
  /** (entry index, row index) of each record in the batch, flattened: what the renderer reads. */
  refs: number[];
}

/** A deduplicated batch and its rows as the sinks read them. */
interface RenderedBatch {
  groups: TableGroup[];
  rendered: RenderedGroup[];
}

const MAX_BATCH_BYTES = 64 * 1024 * 1024;
/** Key of the id index (`ingest` sublevel): injective in (tenant, table, data_id), see physical-names.ts. */
export const idKey = idIndexKey;
/** Every id-index key of one tenant table, as a key range of the `ingest` sublevel. */
export const idKeyRange = idIndexRange;

export class Applier {
  private checkpointLsn = 0;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private failures = 0;
  private lastError?: string;
  private lastProgressAt = Date.now();
  state: ApplierState = 'idle';
  /**
   * False only while every ClickHouse row is committed in the id index: then a
   * batch's new ids cannot be in ClickHouse and the insert skips its lookup.
   * Recovery and any failed batch (which may have inserted part of itself) set it.
   */
  private sinksMayHoldUncommitted = true;
  /** The next batch, being rendered while the sinks write the current one (see renderAhead). */
  private renderedAhead?: { firstLsn: number; lastLsn: number; batch: Promise<RenderedBatch> };
  /**
   * Deleted tenants whose acknowledged records are skipped, up to this LSN: a
   * tenant deleted before its rows were applied must not come back from the
   * WAL, now or after a restart. Persisted; forgotten once the checkpoint passes.
   */
  private readonly purged = new Map<string, number>();

  constructor(private readonly deps: ApplierDeps) {
    deps.metrics.lagSource = () => this.lag;
    deps.metrics.progressSource = () => this.secondsSinceProgress;
  }

  /** Seconds with unapplied records and no committed batch (0 when caught up). */
  get secondsSinceProgress(): number {
    const lag = this.lag;
    if (lag.records === 0) return 0;
    const sinceProgress = (Date.now() - this.lastProgressAt) / 1000;
    // An applier idle for an hour that just got a record is not stalled: count from the older of the two.
    return lag.seconds > 0 ? Math.min(sinceProgress, lag.seconds) : sinceProgress;
  }

  get checkpoint(): number {
    return this.checkpointLsn;
  }

  get lag(): { records: number; seconds: number } {
    const records = Math.max(0, this.deps.wal.lastLsn - this.checkpointLsn);
    return { records, seconds: records > 0 ? this.deps.pending.oldestAgeMs() / 1000 : 0 };
  }

  get health(): { stalled: boolean; lastError?: string; lastProgressAt: number; failures: number } {
    return { stalled: this.failures > 0, lastError: this.lastError, lastProgressAt: this.lastProgressAt, failures: this.failures };
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Runs fn between batches, never during one: retention and compaction change
   * the same catalog entries a batch commit reads and writes.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** LSN under which each id key was committed (undefined when it was not). */
  async committedLsns(keys: string[]): Promise<Array<number | undefined>> {
    return this.deps.catalog.committedLsns(keys);
  }

  /**
   * From now on, rows of `tenant` acknowledged so far (through the WAL's last
   * LSN) are never applied, and they leave the read-your-writes buffer. Synced
   * before it returns. Call inside exclusive(), as part of deleting the tenant.
   */
  async forgetTenant(tenant: string): Promise<{ throughLsn: number; pendingRowsDropped: number }> {
    const throughLsn = this.deps.wal.lastLsn;
    this.purged.set(tenant, Math.max(throughLsn, this.purged.get(tenant) ?? 0));
    await this.savePurged();
    // A batch rendered ahead may hold the tenant's rows.
    this.renderedAhead = undefined;
    return { throughLsn, pendingRowsDropped: this.deps.pending.forgetTenant(tenant, throughLsn) };
  }

  private savePurged(): Promise<void> {
    return this.deps.catalog.setPurgedTenants(Object.fromEntries(this.purged));
  }

  /** Called by ingest after an append so the applier need not wait for its tick. */
  notify(): void {
    // Wake early only for a full batch; otherwise the interval gathers more rows,
    // so a stream of small requests becomes few large inserts and Parquet parts.
    if (this.deps.pending.rows >= this.deps.batchRecords) this.wake?.();
  }

  /** Loads the checkpoint, drops uncommitted Parquet parts, and refills read-your-writes from the WAL tail. */
  async recover(): Promise<void> {
    const { deps } = this;
    this.checkpointLsn = await deps.catalog.checkpoint();
    await this.loadPurged();
    this.releaseWaiters();
    const removed = await deps.parquet.removePartsAfter(this.checkpointLsn);
    if (removed.length > 0) deps.logger.warn({ removed: removed.length, checkpoint: this.checkpointLsn }, 'removed uncommitted parquet parts');
    let from = this.checkpointLsn + 1;
    let replayed = 0;
    for (;;) {
      const entries = await deps.wal.read(from, { maxRecords: 10_000, maxBytes: MAX_BATCH_BYTES });
      if (entries.length === 0) break;
      for (const e of entries) deps.pending.add(e.lsn, decodeBatch(e.payload), e.payload);
      replayed += entries.length;
      from = entries[entries.length - 1]!.lsn + 1;
    }
    for (const [tenant, through] of this.purged) deps.pending.forgetTenant(tenant, through);
    deps.metrics.checkpoint.set(this.checkpointLsn);
    deps.logger.info({ checkpoint: this.checkpointLsn, walLastLsn: deps.wal.lastLsn, replayedRecords: replayed }, 'applier recovered');
  }

  /** Tombstones of deleted tenants; those the checkpoint has passed can never be replayed and are dropped. */
  private async loadPurged(): Promise<void> {
    const stored = await this.deps.catalog.purgedTenants();
    this.purged.clear();
    for (const [tenant, through] of Object.entries(stored)) if (through > this.checkpointLsn) this.purged.set(tenant, through);
    if (Object.keys(stored).length !== this.purged.size) await this.savePurged();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after draining what is in the WAL now (bounded by the caller's timeout). */
  async stop(drain = true): Promise<void> {
    const target = this.deps.wal.lastLsn;
    if (drain) {
      while (this.running && this.checkpointLsn < target && this.failures === 0) {
        this.wake?.();
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.running = false;
    this.wake?.();
    await this.loop;
    this.state = 'stopped';
  }

  private async run(): Promise<void> {
    const { deps } = this;
    while (this.running) {
      let progressed = false;
      try {
        progressed = await this.exclusive(() => this.applyOnce());
        if (this.failures > 0) deps.logger.info({ checkpoint: this.checkpointLsn }, 'applier recovered from failures');
        this.failures = 0;
        this.lastError = undefined;
      } catch (err) {
        this.sinksMayHoldUncommitted = true;
        this.failures++;
        this.state = 'retrying';
        this.lastError = err instanceof Error ? err.message : String(err);
        deps.metrics.failures.inc({ stage: 'batch' });
        deps.logger.error({ err, failures: this.failures, checkpoint: this.checkpointLsn }, 'applier batch failed; will retry');
      }
      if (!progressed && this.running) {
        const delay = this.failures > 0 ? Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6)) : deps.intervalMs;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** One batch; returns whether anything was applied. */
  private async applyOnce(): Promise<boolean> {
    const { deps } = this;
    const entries = await this.nextBatch();
    if (entries.length === 0) {
      this.state = 'idle';
      return false;
    }
    this.state = 'applying';
    if (this.failures > 0) await deps.parquet.removePartsAfter(this.checkpointLsn);
    const lastLsn = entries[entries.length - 1]!.lsn;
    let written: WrittenPart[][];
    let groups: TableGroup[];
    if (deps.renderer) {
      const prepared = await (this.takeRendered(entries) ?? this.render(entries, new Set(), deps.renderer));
      groups = prepared.groups;
      this.renderAhead(lastLsn, groups, deps.renderer);
      // Rendered lines leave out ids already in ClickHouse (render), so a plain insert is exact.
      written = await this.writeGroups(
        groups,
        (g, i) => deps.tables.insertLines(g.tenant, g.table, prepared.rendered[i]!.tableLines),
        (g, i) => deps.parquet.writeRenderedParts(g.tenant, g.table, g.columns, prepared.rendered[i]!.parts),
      );
    } else {
      groups = [...(await this.newRowsByTable(entries)).values()].filter((g) => g.records.length > 0);
      const knownAbsent = !this.sinksMayHoldUncommitted;
      written = await this.writeGroups(
        groups,
        (g) => deps.tables.insertIdempotent(g.tenant, g.table, g.columns, g.records, { knownAbsent }).then(() => undefined),
        (g) => deps.parquet.writeBatch(g.tenant, g.table, g.columns, g.records),
      );
    }

    const tableUpdates: TableEntry[] = [];
    const parts: PartEntry[] = [];
    const indexPuts: Array<{ key: string; lsn: number }> = [];
    let applied = 0;
    for (const [i, g] of groups.entries()) {
      const groupParts = written[i]!;
      const before = (await deps.catalog.getTable(g.tenant, g.table)) ?? deps.schemas.entry(g.tenant, g.table);
      const entry: TableEntry = {
        tenant: g.tenant,
        table: g.table,
        columns: g.columns,
        rowCount: (before?.rowCount ?? 0) + g.records.length,
        bytes: (before?.bytes ?? 0) + groupParts.reduce((s, p) => s + p.bytes, 0),
        partitions: (before?.partitions ?? 0) + groupParts.length,
        minTsMs: minOf(before?.minTsMs ?? null, ...groupParts.map((p) => p.minTsMs)),
        maxTsMs: maxOf(before?.maxTsMs ?? null, ...groupParts.map((p) => p.maxTsMs)),
        createdAt: before?.createdAt ?? Date.now(),
        updatedAt: Date.now(),
      };
      tableUpdates.push(entry);
      for (const p of groupParts) parts.push(partEntryOf(p));
      for (const r of g.records) indexPuts.push({ key: idKey(g.tenant, g.table, r.dataId), lsn: r.lsn });
      applied += g.records.length;
    }

    await deps.catalog.commitBatch({ tables: tableUpdates, parts, checkpoint: lastLsn, ids: indexPuts });
    this.checkpointLsn = lastLsn;
    this.releaseWaiters();
    this.sinksMayHoldUncommitted = false;
    // Past a deleted tenant's last LSN, its tombstone has nothing left to stop (the stored copy goes at the next start).
    for (const [tenant, through] of this.purged) if (through <= lastLsn) this.purged.delete(tenant);
    for (const t of tableUpdates) deps.schemas.refresh(t);
    deps.pending.evictThrough(lastLsn);
    this.lastProgressAt = Date.now();
    deps.metrics.appliedRows.inc(applied);
    deps.metrics.checkpoint.set(lastLsn);
    const deleted = await deps.wal.truncateThrough(lastLsn);
    if (deleted > 0) deps.logger.debug({ deleted, checkpoint: lastLsn }, 'wal segments released');
    return true;
  }

  /**
   * Deduplicates a batch (ids in `seen` count as already stored) and renders
   * its new rows on the renderer's worker.
   */
  private async render(entries: WalBatch[], seen: Set<string>, renderer: RowRenderer): Promise<RenderedBatch> {
    const { deps } = this;
    const groups = [...(await this.newRowsByTable(entries, seen)).values()].filter((g) => g.records.length > 0);
    const toRender: GroupToRender[] = [];
    for (const g of groups) {
      // After a failed batch part of it may be in ClickHouse already (see insertIdempotent).
      const inTable = this.sinksMayHoldUncommitted ? [...(await deps.tables.existingIds(g.tenant, g.table, g.records.map((r) => r.dataId)))] : [];
      toRender.push({ tenant: g.tenant, table: g.table, columns: g.columns, rows: Int32Array.from(g.refs), inTable });
    }
    const rendered = await this.timed('render', () => renderer.render(packEntries(entries), toRender));
    return { groups, rendered };
  }

  /**
   * With a backlog of at least renderAheadPendingRows and a full batch behind
   * this one, starts deduplicating and rendering that batch now, so the worker
   * renders while the sinks write this one. Below that backlog the second core
   * is left to acknowledgements: rendering ahead drains faster but takes CPU
   * the ack path would use, which is worth it only as the backlog grows toward
   * the pending cap. The next batch's ids are checked against this batch's
   * too: they are not in the index until this batch commits. Only after a
   * clean batch (nothing of the next can be in the sinks yet); dropped if this
   * batch fails.
   */
  private renderAhead(lastLsn: number, groups: TableGroup[], renderer: RowRenderer): void {
    this.renderedAhead = undefined;
    if (this.sinksMayHoldUncommitted || this.deps.pending.rows < this.deps.renderAheadPendingRows) return;
    const next = this.deps.pending.contiguousFrom(lastLsn + 1, this.deps.batchRecords);
    // Full: the size cap ended it, not the end of what is pending.
    if (next.length === 0 || this.deps.pending.contiguousFrom(next[next.length - 1]!.lsn + 1, 1).length === 0) return;
    const seen = new Set<string>();
    for (const g of groups) for (const r of g.records) seen.add(idKey(g.tenant, g.table, r.dataId));
    const ahead = this.render(next, seen, renderer);
    ahead.catch(() => undefined); // a failure surfaces when (if) the batch is taken
    this.renderedAhead = { firstLsn: next[0]!.lsn, lastLsn: next[next.length - 1]!.lsn, batch: ahead };
  }

  /** The batch rendered ahead, when it is exactly `entries` and the batch before it committed. */
  private takeRendered(entries: WalBatch[]): Promise<RenderedBatch> | undefined {
    const ahead = this.renderedAhead;
    this.renderedAhead = undefined;
    if (!ahead || this.failures > 0 || ahead.firstLsn !== this.checkpointLsn + 1) return undefined;
    if (entries[0]!.lsn !== ahead.firstLsn || entries[entries.length - 1]!.lsn !== ahead.lastLsn) return undefined;
    this.deps.metrics.renderedAhead.inc();
    return ahead.batch;
  }

  /**
   * Writes each group to both sinks, side by side (ClickHouse parses on its own
   * threads while Parquet encodes); returns each group's Parquet parts in group
   * order. allSettled: on a failure, neither sink may still be writing when the
   * batch is retried.
   */
  private async writeGroups(
    groups: TableGroup[],
    insert: (g: TableGroup, i: number) => Promise<void>,
    writeParts: (g: TableGroup, i: number) => Promise<WrittenPart[]>,
  ): Promise<WrittenPart[][]> {
    const written: WrittenPart[][] = [];
    for (const [i, g] of groups.entries()) {
      const [chDone, pqDone] = await Promise.allSettled([
        this.timed('clickhouse', async () => {
          await this.deps.tables.ensureTable(g.tenant, g.table, g.columns);
          await insert(g, i);
        }),
        this.timed('parquet', () => writeParts(g, i)),
      ]);
      if (chDone.status === 'rejected') throw chDone.reason;
      if (pqDone.status === 'rejected') throw pqDone.reason;
      written.push(pqDone.value);
    }
    return written;
  }

  /** Runs one stage of a batch and records its duration. */
  private async timed<T>(stage: 'render' | 'clickhouse' | 'parquet', run: () => Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint();
    const out = await run();
    this.deps.metrics.batchSeconds.observe({ sink: stage }, Number(process.hrtime.bigint() - t0) / 1e9);
    return out;
  }

  /**
   * The next batch after the checkpoint. Acknowledged rows are already decoded
   * in the read-your-writes buffer, so the steady state reads them from there;
   * the WAL is read (and decoded) only when the buffer does not start at the
   * checkpoint, which recovery makes rare.
   */
  private async nextBatch(): Promise<WalBatch[]> {
    const from = this.checkpointLsn + 1;
    // Cluster mode: an interrupted insert is re-sent as the identical block, so the batch must reach as far as it did.
    const through = await this.deps.tables.resumeThroughLsn?.(this.checkpointLsn);
    let buffered = this.deps.pending.contiguousFrom(from, this.deps.batchRecords);
    if (through !== undefined && buffered.length > 0 && buffered[buffered.length - 1]!.lsn < through) {
      buffered = this.deps.pending.contiguousFrom(from, Number.MAX_SAFE_INTEGER).filter((e) => e.lsn <= through);
    }
    if (buffered.length > 0 || this.deps.wal.lastLsn < from) return buffered;
    const entries = await this.deps.wal.read(from, { maxRecords: Math.max(1000, (through ?? 0) - from + 1), maxBytes: MAX_BATCH_BYTES });
    return entries.map((e) => ({ lsn: e.lsn, batch: decodeBatch(e.payload), payload: e.payload }));
  }

  /** Groups the batch's rows by table, dropping ids already committed, in `seen`, or repeated in this batch. */
  private async newRowsByTable(entries: WalBatch[], seen = new Set<string>()): Promise<Map<string, TableGroup>> {
    const groups = new Map<string, TableGroup>();
    const candidates: Array<{ key: string; group: TableGroup; rec: StoredRecord; entry: number; row: number }> = [];
    let sinceYield = 0;
    for (const [entry, e] of entries.entries()) {
      const batch = e.batch;
      // Rows of a deleted tenant acknowledged before it was deleted.
      if (this.purged.size > 0 && e.lsn <= (this.purged.get(batch.tenant) ?? 0)) continue;
      for (const [row, r] of batch.rows.entries()) {
        if (++sinceYield === SLICE_ROWS) {
          sinceYield = 0;
          await yieldToEventLoop();
        }
        const key = idKey(batch.tenant, r.table, r.dataId);
        if (seen.has(key)) {
          this.deps.metrics.duplicateRows.inc();
          continue;
        }
        seen.add(key);
        const name = tableRefKey(batch.tenant, r.table);
        let group = groups.get(name);
        if (!group) {
          group = { tenant: batch.tenant, table: r.table, columns: this.deps.schemas.columns(batch.tenant, r.table), records: [], refs: [] };
          groups.set(name, group);
        }
        candidates.push({ key, group, rec: { dataId: r.dataId, tsMs: r.tsMs, lsn: e.lsn, payload: r.payload }, entry, row });
      }
    }
    const committed = await this.committedLsns(candidates.map((c) => c.key));
    for (const [i, c] of candidates.entries()) {
      if (committed[i] !== undefined) {
        this.deps.metrics.duplicateRows.inc();
        continue;
      }
      c.group.records.push(c.rec);
      c.group.refs.push(c.entry, c.row);
    }
    return groups;
  }

  // ---- Read-after-write: queries waiting for the checkpoint (src/query/freshness.ts) ----

  private waiters: Array<{ lsn: number; resolve: () => void }> = [];

  /**
   * Resolves once everything through `lsn` is applied and committed. A waiter
   * wakes the applier at once (not after its interval or a full batch), so the
   * batch a query needs is applied now. Not while retrying a failed batch: the
   * backoff protects a sink that is down from a retry per query.
   */
  waitForApplied(lsn: number, signal?: AbortSignal): Promise<void> {
    if (this.checkpointLsn >= lsn) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter = {
        lsn,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      if (this.failures === 0) this.wake?.();
    });
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.lsn <= this.checkpointLsn) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}

function minOf(...values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? Math.min(...v) : null;
}

function maxOf(...values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}
