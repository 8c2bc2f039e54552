// Shapes that cross the data path: ingest → WAL → applier → sinks → catalog.

/** Type of a payload field promoted to its own column in both sinks. */
export type ColumnType = 'Int64' | 'Float64' | 'String' | 'Bool';

/** A promoted payload field (name: ^[A-Za-z_][A-Za-z0-9_]{0,63}$). */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

/** One record as the sinks store it. */
export interface StoredRecord {
  dataId: string;
  tsMs: number;
  lsn: number;
  payload: Record<string, unknown>;
}
