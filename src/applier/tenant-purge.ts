// Deleting a tenant's data from every sink: its ClickHouse tables, Parquet
// files, catalog entries (and statistics kept beside them), id index and
// stored Idempotency-Key answers, and its rows still waiting in the
// read-your-writes buffer and the WAL. Runs between applier batches. The
// applier first records a synced tombstone, so WAL records of the tenant not
// applied yet are skipped from here on and after a restart; it is set again at
// the end for anything acknowledged while the purge ran. ClickHouse goes first
// (if it fails nothing else changed and the delete can be retried), then the
// catalog (readers stop seeing the table), then files and index entries.
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import type { ParquetSink } from '../storage/parquet/index.js';
import type { Applier } from './applier.js';

export interface TenantPurgeDeps {
  applier: Applier;
  catalog: CatalogStore;
  tables: TenantTables;
  parquet: ParquetSink;
  schemas: TableSchemas;
  /** Stored Idempotency-Key answers of the tenant (the ingest path owns them). */
  idempotency: { forgetTenant(tenant: string): Promise<number> };
}

export interface TenantPurgeResult {
  tables: string[];
  rowsDeleted: number;
  partsDeleted: number;
  bytesFreed: number;
  /** Acknowledged rows that had not reached the sinks and never will. */
  pendingRowsDropped: number;
  idsForgotten: number;
  idempotencyKeysForgotten: number;
}


export function purgeTenant(deps: TenantPurgeDeps, tenant: string): Promise<TenantPurgeResult> {
  return deps.applier.exclusive(async () => {
    const first = await deps.applier.forgetTenant(tenant);
    const catalogTables = (await deps.catalog.listTables(tenant)).map((t) => t.table);
    const fileTables = (await deps.parquet.listPartFiles()).filter((p) => p.tenant === tenant).map((p) => p.table);
    const tables = [...new Set([...catalogTables, ...fileTables, ...deps.schemas.tablesOf(tenant)])].sort();
    const result: TenantPurgeResult = {
      tables,
      rowsDeleted: 0,
      partsDeleted: 0,
      bytesFreed: 0,
      pendingRowsDropped: first.pendingRowsDropped,
      idsForgotten: 0,
      idempotencyKeysForgotten: 0,
    };
    for (const table of tables) {
      const entry = await deps.catalog.getTable(tenant, table);
      await deps.tables.dropTable(tenant, table);
      const parts = await deps.catalog.dropTable(tenant, table);
      const files = await deps.parquet.dropTable(tenant, table);
      deps.schemas.forget(tenant, table);
      result.rowsDeleted += entry?.rowCount ?? 0;
      result.bytesFreed += entry?.bytes ?? parts.reduce((s, p) => s + p.bytes, 0);
      result.partsDeleted += Math.max(files, parts.length);
      result.idsForgotten += await deps.catalog.dropDataIds(tenant, table);
    }
    result.idempotencyKeysForgotten = await deps.idempotency.forgetTenant(tenant);
    // Rows acknowledged while this ran (by requests authorised before the tenant was disabled).
    result.pendingRowsDropped += (await deps.applier.forgetTenant(tenant)).pendingRowsDropped;
    return result;
  });
}
