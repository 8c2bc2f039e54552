// Promoted columns of a tenant table: which names are allowed, how each type is
// declared in ClickHouse, and how a payload value is coerced into it.

import { Errors } from '../../platform/errors.js';
import type { ColumnSpec, ColumnType, StoredRecord } from '../record-types.js';
import { ownField, setRowField } from '../row-field.js';
import { quoteIdentifier } from './sql-literal.js';

const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const FIXED_COLUMNS = new Set(['data_id', 'ts_ms', 'date', 'lsn', 'payload']);
const CH_TYPE: Record<ColumnType, string> = {
  Int64: 'Nullable(Int64)',
  Float64: 'Nullable(Float64)',
  String: 'Nullable(String)',
  // 18.16 has no Bool type.
  Bool: 'Nullable(UInt8)',
};

/** Callers validate ids too; this keeps a slip there from reaching ClickHouse. */
export function assertTableRef(tenant: string, table: string): void {
  if (!NAME_PATTERN.test(tenant) || !NAME_PATTERN.test(table)) {
    throw Errors.badRequest('tenant and table names must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  }
}

export function validateColumns(columns: readonly ColumnSpec[]): void {
  const seen = new Set<string>();
  for (const c of columns) {
    if (!COLUMN_NAME.test(c.name)) throw Errors.badRequest(`invalid column name ${JSON.stringify(c.name)}`);
    if (FIXED_COLUMNS.has(c.name)) throw Errors.badRequest(`column name ${c.name} is reserved`);
    if (!(c.type in CH_TYPE)) throw Errors.badRequest(`invalid column type ${JSON.stringify(c.type)}`);
    if (seen.has(c.name)) throw Errors.badRequest(`column ${c.name} is declared twice`);
    seen.add(c.name);
  }
}

export function columnDdl(c: ColumnSpec): string {
  return `${quoteIdentifier(c.name)} ${CH_TYPE[c.type]}`;
}

/** The promoted column type of a ClickHouse column type (as system.columns names it), or undefined for a fixed or foreign column. */
export function columnTypeOf(clickhouseType: string): ColumnType | undefined {
  for (const [t, ch] of Object.entries(CH_TYPE) as Array<[ColumnType, string]>) if (ch === clickhouseType) return t;
  return undefined;
}

/** The fixed columns every tenant table starts with, before its promoted ones. */
export const FIXED_COLUMNS_DDL = ['data_id String', 'ts_ms Int64', 'date Date', 'lsn UInt64', 'payload String'] as const;

/**
 * The column value for a payload field, or null when the field is absent or of
 * another type: the payload column keeps the original either way, so a
 * mismatch must not fail the whole batch.
 */
export function promotedValue(type: ColumnType, v: unknown): string | number | null {
  switch (type) {
    case 'Int64':
      return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
    case 'Float64':
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    case 'String':
      return typeof v === 'string' ? v : null;
    case 'Bool':
      return typeof v === 'boolean' ? (v ? 1 : 0) : null;
  }
}

// Date covers 1970-01-01..2149-06-06 on current servers and less on 18.16
// (UInt16 days, but 18.16 prints only up to 2105); clamping keeps an odd
// timestamp from failing the insert. ts_ms stays exact.
const MIN_DAY_MS = 0;
const MAX_DAY_MS = Date.UTC(2105, 11, 31);

const MS_PER_DAY = 86_400_000;
// Rows of a batch mostly share a day: the string is built once per run of one day.
let lastDay = NaN;
let lastDayText = '';

/** YYYY-MM-DD (UTC) of a millisecond timestamp, clamped to the Date range. */
export function utcDay(ms: number): string {
  const clamped = Math.min(Math.max(ms, MIN_DAY_MS), MAX_DAY_MS);
  const day = Math.floor(clamped / MS_PER_DAY);
  if (day !== lastDay) {
    lastDayText = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    lastDay = day;
  }
  return lastDayText;
}

/**
 * A record as one JSONEachRow line of its tenant table. `payloadJson` is the
 * payload's JSON text when the caller already has it (the other sink needs it too).
 */
export function tableRowLine(r: StoredRecord, columns: readonly ColumnSpec[], payloadJson = JSON.stringify(r.payload)): string {
  if (!Number.isSafeInteger(r.tsMs)) throw Errors.badRequest(`record ${r.dataId}: tsMs must be an integer`);
  if (!Number.isSafeInteger(r.lsn) || r.lsn < 0) throw Errors.badRequest(`record ${r.dataId}: lsn must be a non-negative integer`);
  const row: Record<string, unknown> = {
    data_id: r.dataId,
    ts_ms: r.tsMs,
    date: utcDay(r.tsMs),
    lsn: r.lsn,
    payload: payloadJson,
  };
  for (const c of columns) setRowField(row, c.name, promotedValue(c.type, ownField(r.payload, c.name)));
  return JSON.stringify(row);
}
