// The two sinks of the data path over one engine: the tenant tables in
// ClickHouse and the Parquet files. The embedded engine writes Parquet
// natively, several times faster than parquetjs; a server cannot write our files.
// In cluster mode the tables are the cluster's (replicated, quorum inserts).
import type { Logger } from 'pino';
import type { StateAccess } from '../platform/state-store.js';
import type { ClickHouseEngine } from './clickhouse/clickhouse-engine.js';
import { ClusterTableStore } from './clickhouse/cluster-table-store.js';
import type { ClickHouseCluster } from './clickhouse/cluster-runtime.js';
import { TenantTableStore } from './clickhouse/tenant-table-store.js';
import type { TenantTables } from './clickhouse/tenant-tables.js';
import { EnginePartWriter, ParquetSink } from './parquet/index.js';

export interface TenantSinks {
  tables: TenantTables;
  parquet: ParquetSink;
  close(): Promise<void>;
}

export interface ClusterSinkOptions {
  cluster: ClickHouseCluster;
  /** Where insert intents are kept (see cluster-insert-intents.ts). */
  state: StateAccess;
  requestTimeoutMs: number;
  logger: Logger;
}

export function createTenantSinks(engine: ClickHouseEngine, parquetDir: string, cluster?: ClusterSinkOptions): TenantSinks {
  // Parquet files are written beside the table inserts, not queued behind them on the engine's one connection.
  const runner = { exec: (sql: string) => (engine.execIsolated ? engine.execIsolated(sql) : engine.exec(sql)) };
  const parquet = new ParquetSink({ rootDir: parquetDir, ...(engine.kind === 'embedded' ? { writer: new EnginePartWriter(runner) } : {}) });
  const tables = cluster
    ? new ClusterTableStore({
        engine: cluster.cluster.engine,
        schema: cluster.cluster.schema,
        layout: () => cluster.cluster.layout,
        state: cluster.state,
        requestTimeoutMs: cluster.requestTimeoutMs,
        logger: cluster.logger,
        onRetry: (operation, kind) => cluster.cluster.metrics.retried(operation, kind),
      })
    : new TenantTableStore(engine);
  return { tables, parquet, close: () => parquet.close() };
}
