// Drains the WAL into both sinks in batches, then commits parts, table stats,
// the data_id index and the checkpoint in one LevelDB batch, and only then lets
// the WAL drop segments. Exactly-once comes from three facts:
//  - rows whose (tenant, table, data_id) is already in the committed index are
//    skipped (client retries, replays of committed batches). Ingest looked
//    every acknowledged id up when it acknowledged it and marked the rows it
//    could not prove new (WalBatch suspects); only those, and entries
//    replayed after a restart, are looked up again here;
//  - ClickHouse inserts skip ids already present (a crash after the insert but
//    before the commit); in cluster mode the store re-sends the identical
//    block instead, which the replicas deduplicate;
//  - Parquet parts past the checkpoint are deleted before a batch is (re)tried,
//    and part names are LSN ranges, so a replay rewrites rather than adds.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { partEntryOf, type CatalogStore, type PartEntry, type TableEntry } from '../catalog/catalog-store.js';
import type { CommittedIds } from '../ingest/committed-ids.js';
import type { PendingRecords, WalBatch } from '../ingest/pending-records.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import { decodeBatch } from '../ingest/wal-entry.js';
import { SLICE_ROWS } from '../platform/slices.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { idIndexPrefix, tableRefKey } from '../storage/physical-names.js';
import type { ParquetSink, WrittenPart } from '../storage/parquet/index.js';
import type { StoredRecord } from '../storage/record-types.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import type { BatchGroup, EngineBatchWriter } from './engine-batch-writer.js';
import type { ApplierMetrics } from './metrics.js';

export interface ApplierDeps {
  wal: WriteAheadLog;
  catalog: CatalogStore;
  schemas: TableSchemas;
  tables: TenantTables;
  parquet: ParquetSink;
  pending: PendingRecords;
  /** Told of every id committed, before the pending buffer lets go of it (ingest's duplicate filter). */
  committedIds?: CommittedIds;
  metrics: ApplierMetrics;
  logger: Logger;
  /**
   * Writes batches with the embedded engine reading the WAL entries itself;
   * without one (a ClickHouse server) the sinks get decoded records.
   */
  engineWriter?: EngineBatchWriter;
  batchRecords: number;
  intervalMs: number;
}

export type ApplierState = 'idle' | 'applying' | 'retrying' | 'stopped';

/** The rows of one tenant table in a batch: the new ones to write (LSN order), and where the rest are. */
interface TableGroup extends BatchGroup {
  /** (entry index, row index) of each record, flattened. */
  refs: number[];
}

const MAX_BATCH_BYTES = 64 * 1024 * 1024;

export class Applier {
  private checkpointLsn = 0;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private failures = 0;
  private lastError?: string;
  private lastProgressAt = Date.now();
  /** Whether records were still waiting at the last commit: the time to the next one is a gap in a backlog's drain. */
  private backlogAtLastCommit = false;
  private longestGapMs = 0;
  state: ApplierState = 'idle';
  /**
   * False only while every ClickHouse row is committed in the id index: then a
   * batch's new ids cannot be in ClickHouse and the insert skips its lookup.
   * Recovery and any failed batch (which may have inserted part of itself) set it.
   */
  private sinksMayHoldUncommitted = true;
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
    const groups = await this.timed('prepare', async () => [...(await this.newRowsByTable(entries)).values()].filter((g) => g.records.length > 0));
    let written: WrittenPart[][];
    if (deps.engineWriter) {
      // After a failed batch part of it may be in ClickHouse already: those ids stay out of the table (Parquet was reset).
      if (this.sinksMayHoldUncommitted) for (const g of groups) await this.markInTable(g);
      written = await deps.engineWriter.write(entries, groups, (stage, run) => this.timed(stage, run));
    } else {
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
      const prefix = idIndexPrefix(g.tenant, g.table);
      for (const r of g.records) indexPuts.push({ key: prefix + r.dataId, lsn: r.lsn });
      applied += g.records.length;
    }

    await this.timed('commit', () => deps.catalog.commitBatch({ tables: tableUpdates, parts, checkpoint: lastLsn, ids: indexPuts }));
    this.checkpointLsn = lastLsn;
    this.releaseWaiters();
    this.sinksMayHoldUncommitted = false;
    // Past a deleted tenant's last LSN, its tombstone has nothing left to stop (the stored copy goes at the next start).
    for (const [tenant, through] of this.purged) if (through <= lastLsn) this.purged.delete(tenant);
    for (const t of tableUpdates) deps.schemas.refresh(t);
    if (deps.committedIds) for (const p of indexPuts) deps.committedIds.add(p.key);
    deps.pending.evictThrough(lastLsn);
    this.recordCommit(Date.now());
    deps.metrics.appliedRows.inc(applied);
    deps.metrics.checkpoint.set(lastLsn);
    const deleted = await deps.wal.truncateThrough(lastLsn);
    if (deleted > 0) deps.logger.debug({ deleted, checkpoint: lastLsn }, 'wal segments released');
    return true;
  }

  /** Progress, and the gap since the last commit when a backlog was waiting then (what compaction must not stretch). */
  private recordCommit(now: number): void {
    if (this.backlogAtLastCommit) {
      const gap = now - this.lastProgressAt;
      this.deps.metrics.commitGapSeconds.observe(gap / 1000);
      if (gap > this.longestGapMs) {
        this.longestGapMs = gap;
        this.deps.metrics.longestCommitGapSeconds.set(gap / 1000);
      }
    }
    this.lastProgressAt = now;
    this.backlogAtLastCommit = this.deps.pending.rows > 0;
  }

  /** Moves the group's rows whose ids ClickHouse already holds to `inTable` (see insertIdempotent). */
  private async markInTable(g: TableGroup): Promise<void> {
    const present = await this.deps.tables.existingIds(g.tenant, g.table, g.records.map((r) => r.dataId));
    if (present.size === 0) return;
    g.records.forEach((r, k) => {
      if (present.has(r.dataId)) g.inTable.push(g.refs[2 * k]!, g.refs[2 * k + 1]!);
    });
  }

  /**
   * Writes each group to both sinks, side by side (ClickHouse parses on its own
   * threads while Parquet encodes); returns each group's Parquet parts in group
   * order. allSettled: on a failure, neither sink may still be writing when the
   * batch is retried.
   */
  private async writeGroups(
    groups: TableGroup[],
    insert: (g: TableGroup) => Promise<void>,
    writeParts: (g: TableGroup) => Promise<WrittenPart[]>,
  ): Promise<WrittenPart[][]> {
    const written: WrittenPart[][] = [];
    for (const g of groups) {
      const [chDone, pqDone] = await Promise.allSettled([
        this.timed('clickhouse', async () => {
          await this.deps.tables.ensureTable(g.tenant, g.table, g.columns);
          await insert(g);
        }),
        this.timed('parquet', () => writeParts(g)),
      ]);
      if (chDone.status === 'rejected') throw chDone.reason;
      if (pqDone.status === 'rejected') throw pqDone.reason;
      written.push(pqDone.value);
    }
    return written;
  }

  /** Runs one stage of a batch and records its duration. */
  private async timed<T>(stage: 'prepare' | 'clickhouse' | 'parquet' | 'commit', run: () => Promise<T>): Promise<T> {
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

  /**
   * Groups the batch's rows by table: the new ones in `records`, the rest
   * (ids already committed, or repeated within the batch) in `dropped`.
   * Ingest proved most rows new when it acknowledged them (WalBatch
   * suspects): a batch without a suspect row needs no lookup at all; in one
   * with suspects, only they are looked up in the id index, and every row
   * is checked against the rows before it in the batch.
   */
  private async newRowsByTable(entries: WalBatch[]): Promise<Map<string, TableGroup>> {
    const groups = new Map<string, TableGroup>();
    const verify = entries.some((e) => e.suspects === undefined || e.suspects.length > 0);
    const seen = new Set<string>();
    const candidates: Array<{ key: string; group: TableGroup; rec: StoredRecord; entry: number; row: number }> = [];
    let sinceYield = 0;
    for (const [entry, e] of entries.entries()) {
      const batch = e.batch;
      // Rows of a deleted tenant acknowledged before it was deleted.
      if (this.purged.size > 0 && e.lsn <= (this.purged.get(batch.tenant) ?? 0)) continue;
      let table = '';
      let group: TableGroup | undefined;
      let prefix = '';
      let nextSuspect = 0;
      for (const [row, r] of batch.rows.entries()) {
        if (++sinceYield === SLICE_ROWS) {
          sinceYield = 0;
          await yieldToEventLoop();
        }
        if (r.table !== table || !group) {
          table = r.table;
          const name = tableRefKey(batch.tenant, table);
          group = groups.get(name);
          if (!group) {
            group = { tenant: batch.tenant, table, columns: this.deps.schemas.columns(batch.tenant, table), records: [], refs: [], dropped: [], inTable: [] };
            groups.set(name, group);
          }
          prefix = idIndexPrefix(batch.tenant, table);
        }
        const rec: StoredRecord = { dataId: r.dataId, tsMs: r.tsMs, lsn: e.lsn, payload: r.payload };
        if (verify) {
          const key = prefix + r.dataId;
          if (seen.has(key)) {
            this.deps.metrics.duplicateRows.inc();
            group.dropped.push(entry, row);
            continue;
          }
          seen.add(key);
          let suspect = e.suspects === undefined;
          if (!suspect) {
            while (nextSuspect < e.suspects!.length && e.suspects![nextSuspect]! < row) nextSuspect++;
            suspect = e.suspects![nextSuspect] === row;
          }
          if (suspect) {
            candidates.push({ key, group, rec, entry, row });
            continue;
          }
        }
        group.records.push(rec);
        group.refs.push(entry, row);
      }
    }
    const committed = await this.committedLsns(candidates.map((c) => c.key));
    for (const [i, c] of candidates.entries()) {
      if (committed[i] !== undefined) {
        this.deps.metrics.duplicateRows.inc();
        c.group.dropped.push(c.entry, c.row);
        continue;
      }
      c.group.records.push(c.rec);
      c.group.refs.push(c.entry, c.row);
    }
    // Suspects found new go back among the rows they came with, in LSN (then row) order.
    if (candidates.length > 0) for (const g of groups.values()) sortByRef(g);
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

/** Sorts a group's records (and refs with them) by (entry, row): LSN order, as the sinks expect. */
function sortByRef(g: TableGroup): void {
  const order = g.records.map((_, k) => k).sort((a, b) => g.refs[2 * a]! - g.refs[2 * b]! || g.refs[2 * a + 1]! - g.refs[2 * b + 1]!);
  g.records = order.map((k) => g.records[k]!);
  g.refs = order.flatMap((k) => [g.refs[2 * k]!, g.refs[2 * k + 1]!]);
}

function minOf(...values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? Math.min(...v) : null;
}

function maxOf(...values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}
