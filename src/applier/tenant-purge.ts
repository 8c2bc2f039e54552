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
import { idempotencyKeyRange } from '../ingest/ingest-pipeline.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import type { StateStore } from '../platform/state-store.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import type { ParquetSink } from '../storage/parquet/index.js';
import { idKeyRange, type Applier } from './applier.js';

export interface TenantPurgeDeps {
  applier: Applier;
  catalog: CatalogStore;
  tables: TenantTables;
  parquet: ParquetSink;
  schemas: TableSchemas;
  state: StateStore;
  /** Keys derived from a table that live beside it in the catalog sublevel (column statistics). */
  derivedKeys?: (tenant: string, table: string) => string[];
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

const DELETE_SLICE = 10_000;

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
      const parts = await deps.catalog.dropTable(tenant, table, deps.derivedKeys?.(tenant, table) ?? []);
      const files = await deps.parquet.dropTable(tenant, table);
      deps.schemas.forget(tenant, table);
      result.rowsDeleted += entry?.rowCount ?? 0;
      result.bytesFreed += entry?.bytes ?? parts.reduce((s, p) => s + p.bytes, 0);
      result.partsDeleted += Math.max(files, parts.length);
      result.idsForgotten += await deleteRange(deps.state, idKeyRange(tenant, table));
    }
    result.idempotencyKeysForgotten = await deleteRange(deps.state, idempotencyKeyRange(tenant));
    // Rows acknowledged while this ran (by requests authorised before the tenant was disabled).
    result.pendingRowsDropped += (await deps.applier.forgetTenant(tenant)).pendingRowsDropped;
    return result;
  });
}

/** Deletes every key of a range of the `ingest` sublevel, a synced batch per slice. */
async function deleteRange(state: StateStore, range: { gte: string; lt: string }): Promise<number> {
  let deleted = 0;
  for (;;) {
    const keys: string[] = [];
    for await (const key of state.sublevel('ingest').keys({ ...range, limit: DELETE_SLICE })) keys.push(key);
    if (keys.length === 0) break;
    await state.writeBatch(
      keys.map((key) => ({ type: 'del' as const, sublevel: 'ingest' as const, key })),
      { sync: true },
    );
    deleted += keys.length;
    if (keys.length < DELETE_SLICE) break;
  }
  return deleted;
}
