// How tenant tables are laid out in each sink, as the planner needs to know it.
import { TABLE_LAYOUT } from '../../storage/clickhouse/tenant-table-store.js';

/** The ClickHouse side: one server's layout, or cluster mode's (clusterTableLayout). */
export interface TableLayout {
  engine: string;
  partitionKey: string;
  sortKey: readonly string[];
  shardingKey?: string;
}

export function describeIndexes(table: string, layout: TableLayout = TABLE_LAYOUT) {
  return {
    table,
    clickhouse: {
      engine: layout.engine,
      partitionKey: layout.partitionKey,
      sortKey: [...layout.sortKey],
      ...(layout.shardingKey !== undefined ? { shardingKey: layout.shardingKey } : {}),
      skippingIndexes: [] as string[],
    },
    parquet: {
      partitioning: 'date=YYYY-MM-DD',
      fileName: 'part-<firstLsn>-<lastLsn>.parquet',
      statistics: ['ts_ms min/max', 'lsn min/max'],
    },
  };
}
