// Shapes shared by the Parquet sink and its callers (applier, catalog, compaction).

/** Type of a promoted payload field; each becomes one OPTIONAL Parquet column. */
export type ColumnType = 'Int64' | 'Float64' | 'String' | 'Bool';

/** A payload field promoted to its own column (name: ^[A-Za-z_][A-Za-z0-9_]{0,63}$). */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

/** One applied record as the sink receives it from the WAL applier. */
export interface StoredRecord {
  dataId: string;
  tsMs: number;
  lsn: number;
  payload: Record<string, unknown>;
}

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
