// The query behind GET /data on a tenant table, for either table store: the
// filter as SQL (literals from sql-literal.ts) in (lsn, data_id) order, and a
// result row back as a record. data_id compares bytewise (UTF-8).
import type { StoredRecord } from '../record-types.js';
import { quoteString, renderLiteral } from './sql-literal.js';
import { utcDay } from './tenant-table-schema.js';
import type { ReadQuery } from './tenant-tables.js';

/** A row of recordsSql's result (64-bit integers arrive as strings). */
export interface RecordRow {
  data_id: string;
  ts_ms: string | number;
  lsn: string | number;
  payload: string;
}

/** SELECT of the records of `tableName` (quoted, qualified) matching `q`, in (lsn, data_id) order. */
export function recordsSql(tableName: string, q: ReadQuery): string {
  const where: string[] = [];
  if (q.dataId !== undefined) where.push(`data_id = ${quoteString(q.dataId)}`);
  if (q.fromMs !== undefined) {
    // The date predicate lets ClickHouse prune partitions; ts_ms is the exact bound.
    where.push(`date >= toDate(${quoteString(utcDay(q.fromMs))})`, `ts_ms >= ${renderLiteral(q.fromMs)}`);
  }
  if (q.toMs !== undefined) {
    where.push(`date <= toDate(${quoteString(utcDay(q.toMs))})`, `ts_ms < ${renderLiteral(q.toMs)}`);
  }
  if (q.afterLsn !== undefined) where.push(`lsn > ${renderLiteral(q.afterLsn)}`);
  if (q.after !== undefined) {
    const lsn = renderLiteral(q.after.lsn);
    where.push(`(lsn > ${lsn} OR (lsn = ${lsn} AND data_id > ${quoteString(q.after.dataId)}))`);
  }
  return (
    `SELECT data_id, ts_ms, lsn, payload FROM ${tableName}` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY lsn, data_id LIMIT ${q.limit}`
  );
}

/**
 * Up to `limit` rows spread over the whole table: ordered by a hash of
 * data_id (the same sample every time for the same rows), for statistics.
 */
export function sampleSql(tableName: string, limit: number): string {
  return `SELECT data_id, ts_ms, lsn, payload FROM ${tableName} ORDER BY cityHash64(data_id), data_id LIMIT ${limit}`;
}

export function recordOfRow(row: RecordRow): StoredRecord {
  return {
    dataId: row.data_id,
    tsMs: Number(row.ts_ms),
    lsn: Number(row.lsn),
    payload: JSON.parse(row.payload) as Record<string, unknown>,
  };
}
