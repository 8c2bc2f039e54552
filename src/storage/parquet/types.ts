// Shapes shared by the Parquet sink and its callers (applier, catalog, compaction).

export type { ColumnSpec, ColumnType, StoredRecord } from '../record-types.js';

/** One Parquet file of one (tenant, table, UTC date) partition. */
export interface WrittenPart {
  tenant: string;
  table: string;
  /** UTC date of the rows, YYYY-MM-DD. */
  date: string;
  /** Absolute path of the file. */
  path: string;
  /** Path relative to the sink's root directory, always with '/' separators. */
  relativePath: string;
  firstLsn: number;
  lastLsn: number;
  rows: number;
  bytes: number;
  minTsMs: number;
  maxTsMs: number;
}
