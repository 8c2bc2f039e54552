// Compaction: the applier writes one small Parquet part per batch and day, so
// busy tables collect many small files. This merges the parts of one
// (tenant, table, day) into one file and swaps them in the catalog in a single
// LevelDB batch: a reader of the catalog sees either the old parts or the new
// one, never both and never neither. Old files are deleted after the commit;
// a crash in between leaves orphans that startup reconciliation removes.
import type { Logger } from 'pino';
import { partEntryOf, type CatalogStore, type PartEntry, type TableEntry } from '../catalog/catalog-store.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import { readPartRecords, type ParquetSink } from '../storage/parquet/index.js';
import type { Applier } from './applier.js';

export interface CompactionDeps {
  applier: Applier;
  catalog: CatalogStore;
  schemas: TableSchemas;
  parquet: ParquetSink;
  logger: Logger;
}

export interface CompactionOptions {
  /** A day is compacted once it has at least this many parts. */
  minParts: number;
  /** Never build a merged part larger than this many rows. */
  maxRows: number;
}

export interface CompactionResult {
  partitions: number;
  partsMerged: number;
  partsWritten: number;
}

/** One pass over every table: merge the days that have too many small parts. */
export async function compactAll(deps: CompactionDeps, opts: CompactionOptions): Promise<CompactionResult> {
  const result: CompactionResult = { partitions: 0, partsMerged: 0, partsWritten: 0 };
  for (const table of await deps.catalog.listTables()) {
    const byDay = new Map<string, PartEntry[]>();
    for (const p of await deps.catalog.listParts(table.tenant, table.table)) {
      const list = byDay.get(p.date) ?? [];
      list.push(p);
      byDay.set(p.date, list);
    }
    for (const parts of byDay.values()) {
      const small = parts.filter((p) => p.rows < opts.maxRows).sort((a, b) => a.firstLsn - b.firstLsn);
      if (small.length < opts.minParts) continue;
      const merged = await compactDay(deps, table, takeUpTo(small, opts.maxRows));
      if (merged > 0) {
        result.partitions++;
        result.partsMerged += merged;
        result.partsWritten++;
      }
    }
  }
  return result;
}

function takeUpTo(parts: PartEntry[], maxRows: number): PartEntry[] {
  const out: PartEntry[] = [];
  let rows = 0;
  for (const p of parts) {
    if (out.length >= 2 && rows + p.rows > maxRows) break;
    out.push(p);
    rows += p.rows;
  }
  return out;
}

/** Merges `parts` (same tenant, table, day) into one; returns how many were merged. */
async function compactDay(deps: CompactionDeps, table: TableEntry, parts: PartEntry[]): Promise<number> {
  if (parts.length < 2) return 0;
  return deps.applier.exclusive(async () => {
    // Re-read under the lock: retention may have removed some meanwhile.
    const current = new Set((await deps.catalog.listParts(table.tenant, table.table)).map((p) => p.relativePath));
    const inputs = parts.filter((p) => current.has(p.relativePath));
    if (inputs.length < 2) return 0;
    const records = (await Promise.all(inputs.map((p) => readPartRecords(deps.parquet.rootDir, p.relativePath)))).flat();
    records.sort((a, b) => a.lsn - b.lsn);
    const columns = deps.schemas.columns(table.tenant, table.table);
    const written = await deps.parquet.writeBatch(table.tenant, table.table, columns, records);
    if (written.length !== 1) throw new Error(`compaction of one day produced ${written.length} parts`);
    const w = written[0]!;
    const replaced = inputs.filter((p) => p.relativePath !== w.relativePath);
    const entry = (await deps.catalog.getTable(table.tenant, table.table)) ?? table;
    await deps.catalog.commitBatch({
      tables: [{ ...entry, bytes: entry.bytes - sumOf(inputs, 'bytes') + w.bytes, partitions: entry.partitions - inputs.length + 1, updatedAt: Date.now() }],
      parts: [partEntryOf(w)],
      removedParts: replaced,
      checkpoint: deps.applier.checkpoint,
    });
    for (const p of replaced) await deps.parquet.deletePart(p.relativePath);
    deps.logger.info({ tenant: table.tenant, table: table.table, date: w.date, merged: inputs.length, rows: w.rows }, 'compacted parquet parts');
    return inputs.length;
  });
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
