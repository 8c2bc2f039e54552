// Retention: drops a tenant's data older than a cutoff from both sinks and the
// catalog. It works by whole UTC days, the partition unit both sinks share
// (Parquet `date=` directories, ClickHouse's `date` column), so the two stay
// equal and catalog row counts stay exact. Runs between applier batches.
import type { CatalogStore, PartEntry, TableEntry } from '../catalog/catalog-store.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import type { ParquetSink } from '../storage/parquet/index.js';
import type { Applier } from './applier.js';

export interface RetentionDeps {
  applier: Applier;
  catalog: CatalogStore;
  tables: TenantTables;
  parquet: ParquetSink;
}

export interface SweepResult {
  cutoffDate: string;
  tables: number;
  partitionsDropped: number;
  rowsDeleted: number;
  bytesFreed: number;
}

/** What a sweep would drop (dryRun): nothing changes. */
export interface RetentionPlan {
  dryRun: true;
  cutoffDate: string;
  tables: number;
  /** UTC days that would go, oldest first. */
  days: string[];
  parts: number;
  rows: number;
  bytes: number;
}

export const cutoffDateOf = (beforeMs: number) => new Date(beforeMs).toISOString().slice(0, 10);

/** The parts a sweep with this cutoff drops, per table of the tenant (all, or `table`). */
async function doomedParts(catalog: CatalogStore, tenant: string, table: string | undefined, cutoffDate: string) {
  const tables = (await catalog.listTables(tenant)).filter((t) => table === undefined || t.table === table);
  const out: Array<{ entry: TableEntry; parts: PartEntry[] }> = [];
  for (const t of tables) out.push({ entry: t, parts: (await catalog.listParts(tenant, t.table)).filter((p) => p.date < cutoffDate) });
  return out;
}

/** What sweepRetention with the same arguments would drop, read from the catalog. */
export async function planRetention(deps: Pick<RetentionDeps, 'catalog'>, tenant: string, table: string | undefined, beforeMs: number): Promise<RetentionPlan> {
  const cutoffDate = cutoffDateOf(beforeMs);
  const doomed = await doomedParts(deps.catalog, tenant, table, cutoffDate);
  const parts = doomed.flatMap((d) => d.parts);
  return {
    dryRun: true,
    cutoffDate,
    tables: doomed.length,
    days: [...new Set(parts.map((p) => p.date))].sort(),
    parts: parts.length,
    rows: sum(parts, 'rows'),
    bytes: sum(parts, 'bytes'),
  };
}

/** Days strictly before the UTC day of `beforeMs` are dropped. */
export async function sweepRetention(deps: RetentionDeps, tenant: string, table: string | undefined, beforeMs: number): Promise<SweepResult> {
  const cutoffDate = cutoffDateOf(beforeMs);
  return deps.applier.exclusive(async () => {
    const doomed = await doomedParts(deps.catalog, tenant, table, cutoffDate);
    const result: SweepResult = { cutoffDate, tables: doomed.length, partitionsDropped: 0, rowsDeleted: 0, bytesFreed: 0 };
    for (const { entry: t, parts } of doomed) {
      if (parts.length === 0) continue;
      // ClickHouse first: if it fails, nothing else changed and the sweep can be retried.
      await deps.tables.deleteDaysBefore(tenant, t.table, cutoffDate);
      const rows = sum(parts, 'rows');
      const bytes = sum(parts, 'bytes');
      const remaining = (await deps.catalog.listParts(tenant, t.table)).filter((p) => p.date >= cutoffDate);
      const updated: TableEntry = {
        ...t,
        rowCount: Math.max(0, t.rowCount - rows),
        bytes: Math.max(0, t.bytes - bytes),
        partitions: Math.max(0, t.partitions - parts.length),
        minTsMs: remaining.length ? Math.min(...remaining.map((p) => p.minTsMs)) : null,
        maxTsMs: remaining.length ? Math.max(...remaining.map((p) => p.maxTsMs)) : null,
        updatedAt: Date.now(),
      };
      // Catalog next (readers stop seeing the parts), files last (a crash leaves only orphans, never dangling entries).
      await deps.catalog.commitBatch({ tables: [updated], parts: [], removedParts: parts, checkpoint: deps.applier.checkpoint });
      for (const p of parts) await deps.parquet.deletePart(p.relativePath);
      result.partitionsDropped += parts.length;
      result.rowsDeleted += rows;
      result.bytesFreed += bytes;
    }
    return result;
  });
}

function sum(parts: PartEntry[], key: 'rows' | 'bytes'): number {
  return parts.reduce((s, p) => s + p[key], 0);
}
