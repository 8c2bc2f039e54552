// The two sinks of the data path over one engine: the tenant tables in
// ClickHouse and the Parquet files. The embedded engine writes Parquet
// natively, several times faster than parquetjs; a server cannot write our files.
import type { ClickHouseEngine } from './clickhouse/clickhouse-engine.js';
import { TenantTableStore } from './clickhouse/tenant-table-store.js';
import { EnginePartWriter, ParquetSink } from './parquet/index.js';

export interface TenantSinks {
  tables: TenantTableStore;
  parquet: ParquetSink;
  close(): Promise<void>;
}

export function createTenantSinks(engine: ClickHouseEngine, parquetDir: string): TenantSinks {
  // Parquet files are written beside the table inserts, not queued behind them on the engine's one connection.
  const runner = { exec: (sql: string) => (engine.execIsolated ? engine.execIsolated(sql) : engine.exec(sql)) };
  const parquet = new ParquetSink({ rootDir: parquetDir, ...(engine.kind === 'embedded' ? { writer: new EnginePartWriter(runner) } : {}) });
  return { tables: new TenantTableStore(engine), parquet, close: () => parquet.close() };
}
