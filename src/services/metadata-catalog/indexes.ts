// How tenant tables are laid out in each sink, as the planner needs to know it.
// Kept next to the catalog routes; must match tenant-table-store.ts's DDL.
export function describeIndexes(table: string) {
  return {
    table,
    clickhouse: {
      engine: 'ReplacingMergeTree(lsn)',
      partitionKey: 'toYYYYMM(date)',
      sortKey: ['data_id'],
      skippingIndexes: [] as string[],
    },
    parquet: {
      partitioning: 'date=YYYY-MM-DD',
      fileName: 'part-<firstLsn>-<lastLsn>.parquet',
      statistics: ['ts_ms min/max', 'lsn min/max'],
    },
  };
}
