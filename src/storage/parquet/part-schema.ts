// The Parquet layout of a part file, and how a record becomes a row of it.
//
// ts_ms is a plain INT64 of epoch milliseconds, not TIMESTAMP_MILLIS: the
// library's TIMESTAMP_MILLIS rejects values before 1970, and a plain Int64 is
// read by ClickHouse as Int64 with no time-zone interpretation, the same
// integer the WAL and the ClickHouse table carry. Readers that want a time use
// fromUnixTimestamp64Milli(ts_ms, 'UTC').
//
// Statistics are kept for the numeric and boolean columns (min/max of lsn and
// ts_ms let a reader skip row groups) and turned off for strings: a min/max of
// JSON payloads is useless, costs a lot to compute, and writer-specific string
// ordering in statistics is a known source of wrong row-group skipping.

import type { ParquetCompression, SchemaDefinition } from '@dsnp/parquetjs';
import { Errors } from '../../platform/errors.js';
import { ownField } from '../row-field.js';
import type { ColumnSpec, ColumnType, StoredRecord } from './types.js';

// SNAPPY: read by ClickHouse, DuckDB, Spark and Arrow alike, and cheap to write.
const COMPRESSION: ParquetCompression = 'SNAPPY';
const COLUMN_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const FIXED_COLUMNS = ['data_id', 'ts_ms', 'lsn', 'payload'] as const;

const PARQUET_TYPE: Record<ColumnType, 'INT64' | 'DOUBLE' | 'UTF8' | 'BOOLEAN'> = {
  Int64: 'INT64',
  Float64: 'DOUBLE',
  String: 'UTF8',
  Bool: 'BOOLEAN',
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function assertColumns(columns: readonly ColumnSpec[]): void {
  const seen = new Set<string>(FIXED_COLUMNS);
  for (const col of columns) {
    if (typeof col.name !== 'string' || !COLUMN_NAME_RE.test(col.name)) {
      throw Errors.validation('invalid promoted column name', { column: String(col.name) });
    }
    if (!Object.hasOwn(PARQUET_TYPE, col.type)) {
      throw Errors.validation('invalid promoted column type', { column: col.name, type: String(col.type) });
    }
    if (seen.has(col.name)) {
      throw Errors.validation('promoted column name is reserved or duplicated', { column: col.name });
    }
    seen.add(col.name);
  }
}

/** The parquetjs schema definition of a part with these promoted columns. */
export function partSchemaDefinition(columns: readonly ColumnSpec[]): SchemaDefinition {
  const def: SchemaDefinition = {
    data_id: { type: 'UTF8', compression: COMPRESSION, statistics: false },
    ts_ms: { type: 'INT64', compression: COMPRESSION },
    lsn: { type: 'INT64', compression: COMPRESSION },
    payload: { type: 'UTF8', compression: COMPRESSION, statistics: false },
  };
  for (const col of columns) {
    const type = PARQUET_TYPE[col.type];
    def[col.name] = { type, optional: true, compression: COMPRESSION, ...(type === 'UTF8' ? { statistics: false } : {}) };
  }
  return def;
}

/**
 * The value of a promoted column, or null. A value of the wrong JSON type (or
 * an integer outside Int64) becomes null rather than failing the batch: the
 * record is already acknowledged, the payload column keeps the exact value,
 * and a sink that throws here would stall the applier on that record forever.
 */
export function promotedValue(type: ColumnType, value: unknown): unknown {
  switch (type) {
    case 'Int64': {
      if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX ? value : null;
      if (typeof value !== 'number' || !Number.isInteger(value)) return null;
      const big = BigInt(value);
      return big >= INT64_MIN && big <= INT64_MAX ? big : null;
    }
    case 'Float64':
      return typeof value === 'number' ? value : null;
    case 'String':
      return typeof value === 'string' ? value : null;
    case 'Bool':
      return typeof value === 'boolean' ? value : null;
  }
}

/** A record's value of a promoted column, or null; hasOwn so a field named e.g. "constructor" never reads Object.prototype. */
export function promotedColumnValue(record: StoredRecord, col: ColumnSpec): unknown {
  const raw = ownField(record.payload, col.name);
  return raw === null || raw === undefined ? null : promotedValue(col.type, raw);
}

export function toPartRow(record: StoredRecord, columns: readonly ColumnSpec[]): Record<string, unknown> {
  // Null prototype: the library looks columns up with `name in row`, so on a
  // plain object a column named e.g. "constructor" would find Object.prototype's.
  const row = Object.create(null) as Record<string, unknown>;
  row.data_id = record.dataId;
  row.ts_ms = BigInt(record.tsMs);
  row.lsn = BigInt(record.lsn);
  row.payload = JSON.stringify(record.payload);
  for (const col of columns) {
    const value = promotedColumnValue(record, col);
    // parquetjs treats a missing key as null for OPTIONAL columns.
    if (value !== null) row[col.name] = value;
  }
  return row;
}
