// How tenant tables are laid out in each sink, as the planner needs to know it.
import { TABLE_LAYOUT } from '../../storage/clickhouse/tenant-table-store.js';

export function describeIndexes(table: string) {
  return {
    table,
    clickhouse: {
      engine: TABLE_LAYOUT.engine,
      partitionKey: TABLE_LAYOUT.partitionKey,
      sortKey: [...TABLE_LAYOUT.sortKey],
      skippingIndexes: [] as string[],
    },
    parquet: {
      partitioning: 'date=YYYY-MM-DD',
      fileName: 'part-<firstLsn>-<lastLsn>.parquet',
      statistics: ['ts_ms min/max', 'lsn min/max'],
    },
  };
}
