// Compaction: the applier writes one small Parquet part per batch and day, so
// busy tables collect many small files. This merges runs of them into larger
// parts, beside the applier rather than in its way:
//  - the merge (reading and writing files) runs outside the applier's lock,
//    on the sink's writer (the embedded ClickHouse on a connection and a
//    thread of its own, or a streaming parquetjs merge), within bounded memory;
//  - only the catalog swap runs between batches (Applier.exclusive): one
//    LevelDB batch removes the inputs and adds the merged part, so a reader
//    of the catalog sees either the old parts or the new one, never both and
//    never neither. If the inputs changed meanwhile (retention dropped the
//    day) the merged file is deleted instead;
//  - old files are deleted after the swap; a crash in between leaves orphans
//    that startup reconciliation removes.
// Which parts: a part of COMPACTION_MAX_ROWS rows or more is never rewritten;
// a merge takes at least COMPACTION_MIN_PARTS parts whose LSN ranges follow
// one another among the day's parts (so the merged part's range, its name,
// covers no other part), yields at most COMPACTION_MAX_ROWS rows, and its
// largest input is at most half of it (a large part is not rewritten to add a
// little), so a row is rewritten about once or twice on its way to a full part.
import type { Logger } from 'pino';
import { partEntryOf, type CatalogStore, type PartEntry, type TableEntry } from '../catalog/catalog-store.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import type { ParquetSink } from '../storage/parquet/index.js';
import type { Applier } from './applier.js';
import type { ApplierMetrics } from './metrics.js';

export interface CompactionDeps {
  applier: Applier;
  catalog: CatalogStore;
  schemas: TableSchemas;
  parquet: ParquetSink;
  logger: Logger;
  metrics?: ApplierMetrics;
}

export interface CompactionOptions {
  /** A merge takes at least this many parts. */
  minParts: number;
  /** Never build a merged part larger than this many rows, nor rewrite one this large. */
  maxRows: number;
}

export interface CompactionResult {
  partitions: number;
  partsMerged: number;
  partsWritten: number;
}

/**
 * The merges worth making among one day's parts: runs of parts below
 * `maxRows`, consecutive in LSN order, cut greedily into groups of at most
 * `maxRows` rows that satisfy the rules above.
 */
export function planMerges(parts: readonly PartEntry[], opts: CompactionOptions): PartEntry[][] {
  const sorted = [...parts].sort((a, b) => a.firstLsn - b.firstLsn);
  const groups: PartEntry[][] = [];
  let run: PartEntry[] = [];
  const cut = () => {
    let i = 0;
    while (i < run.length) {
      let rows = 0;
      let largest = 0;
      let j = i;
      for (; j < run.length && rows + run[j]!.rows <= opts.maxRows; j++) {
        rows += run[j]!.rows;
        largest = Math.max(largest, run[j]!.rows);
      }
      if (j - i >= Math.max(2, opts.minParts) && 2 * largest <= rows) {
        groups.push(run.slice(i, j));
        i = j;
      } else {
        i++;
      }
    }
    run = [];
  };
  for (const p of sorted) {
    if (p.rows >= opts.maxRows) cut();
    else run.push(p);
  }
  cut();
  return groups;
}

/**
 * One pass over every table: each planned merge in turn. `pace` runs after
 * each merge with its duration, so the caller can spread merges out.
 */
export async function compactAll(
  deps: CompactionDeps,
  opts: CompactionOptions,
  pace: (mergeMs: number) => Promise<void> = async () => {},
  shouldStop: () => boolean = () => false,
): Promise<CompactionResult> {
  const result: CompactionResult = { partitions: 0, partsMerged: 0, partsWritten: 0 };
  for (const table of await deps.catalog.listTables()) {
    const byDay = new Map<string, PartEntry[]>();
    for (const p of await deps.catalog.listParts(table.tenant, table.table)) {
      const list = byDay.get(p.date) ?? [];
      list.push(p);
      byDay.set(p.date, list);
    }
    for (const parts of byDay.values()) {
      for (const group of planMerges(parts, opts)) {
        if (shouldStop()) return result;
        const started = Date.now();
        const merged = await compactGroup(deps, table, group);
        if (merged > 0) {
          result.partitions++;
          result.partsMerged += merged;
          result.partsWritten++;
        }
        await pace(Date.now() - started);
      }
    }
  }
  return result;
}

/** Merges `parts` (one table and day) into one and swaps them in the catalog; returns how many were merged. */
async function compactGroup(deps: CompactionDeps, table: TableEntry, parts: PartEntry[]): Promise<number> {
  const columns = deps.schemas.columns(table.tenant, table.table);
  const t0 = process.hrtime.bigint();
  const merged = await deps.parquet.mergeParts(table.tenant, table.table, columns, parts);
  const t1 = process.hrtime.bigint();
  const swapped = await deps.applier.exclusive(async () => {
    // Retention may have removed some of the inputs meanwhile.
    const current = new Set((await deps.catalog.listParts(table.tenant, table.table)).map((p) => p.relativePath));
    if (!parts.every((p) => current.has(p.relativePath))) return false;
    const entry = (await deps.catalog.getTable(table.tenant, table.table)) ?? table;
    await deps.catalog.commitBatch({
      tables: [{ ...entry, bytes: entry.bytes - sumOf(parts, 'bytes') + merged.bytes, partitions: entry.partitions - parts.length + 1, updatedAt: Date.now() }],
      parts: [partEntryOf(merged)],
      removedParts: parts,
      checkpoint: deps.applier.checkpoint,
    });
    return true;
  });
  const t2 = process.hrtime.bigint();
  deps.metrics?.compactionSeconds.observe({ stage: 'merge' }, Number(t1 - t0) / 1e9);
  deps.metrics?.compactionSeconds.observe({ stage: 'swap' }, Number(t2 - t1) / 1e9);
  if (!swapped) {
    await deps.parquet.deletePart(merged.relativePath);
    deps.logger.info({ tenant: table.tenant, table: table.table, date: merged.date }, 'compaction dropped: its parts changed meanwhile');
    return 0;
  }
  for (const p of parts) await deps.parquet.deletePart(p.relativePath);
  deps.metrics?.compactedRows.inc(merged.rows);
  deps.logger.info(
    { tenant: table.tenant, table: table.table, date: merged.date, merged: parts.length, rows: merged.rows, mergeMs: Number(t1 - t0) / 1e6 },
    'compacted parquet parts',
  );
  return parts.length;
}

/** Deletes part files the catalog does not know (left by a crash between a compaction's commit and its deletes). */
export async function removeOrphanParts(deps: Pick<CompactionDeps, 'catalog' | 'parquet' | 'logger'>, checkpoint: number): Promise<number> {
  const known = new Set<string>();
  for (const t of await deps.catalog.listTables()) for (const p of await deps.catalog.listParts(t.tenant, t.table)) known.add(p.relativePath);
  let removed = 0;
  for (const p of await deps.parquet.listPartFiles()) {
    // Parts above the checkpoint belong to a batch being replayed; removePartsAfter owns those.
    if (p.lastLsn <= checkpoint && !known.has(p.relativePath)) {
      await deps.parquet.deletePart(p.relativePath);
      removed++;
    }
  }
  if (removed > 0) deps.logger.warn({ removed }, 'removed parquet parts unknown to the catalog');
  return removed;
}

function sumOf(parts: PartEntry[], key: 'rows' | 'bytes'): number {
  return parts.reduce((s, p) => s + p[key], 0);
}
