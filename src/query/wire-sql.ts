// The generated query shaped so the engine writes the answer's wire format
// itself: output columns carry the names the client sees and, for Arrow, the
// types of our Arrow schema. The rows are then passed through as the engine
// wrote them instead of being parsed and serialised again in JS.
//
// Renaming happens in an outer SELECT over the generated query: an alias in
// the generated query itself could shadow a column of the same name in its
// WHERE or GROUP BY (ClickHouse resolves aliases there), which is why the
// generator names such outputs `_o<i>`. The outer SELECT only projects, so the
// inner ORDER BY's order is kept.
import { quoteIdentifier } from '../storage/clickhouse/sql-literal.js';
import type { SqlType } from './bound.js';
import type { GeneratedColumn, GeneratedSql } from './sql-generator.js';

/** Arrow type of each result column, whoever writes the stream (engine or the JS encoder). */
export type ArrowKind = 'Float64' | 'Int64' | 'Int32' | 'Utf8';

export function arrowKindOf(t: SqlType): ArrowKind {
  switch (t) {
    case 'Float64':
      return 'Float64';
    case 'Int64':
    case 'UInt64':
      return 'Int64';
    case 'UInt8':
    case 'Bool':
      return 'Int32';
    default:
      // Date and DateTime as the text JSON shows ('2026-10-20', '2026-10-20 10:00:00', UTC); NULL as a null string.
      return 'Utf8';
  }
}

// Every field nullable: the schema depends only on the query's types, not on the data.
const CAST_TO: Record<ArrowKind, string> = {
  Float64: 'Nullable(Float64)',
  Int64: 'Nullable(Int64)',
  Int32: 'Nullable(Int32)',
  Utf8: 'Nullable(String)',
};

/** The query whose JSONEachRow output has the client's column names. */
export function jsonWireSql(gen: GeneratedSql): string {
  if (!gen.renamed) return gen.sql;
  return project(gen, (c) => (c.sqlName === c.name ? quoteIdentifier(c.name) : `${quoteIdentifier(c.sqlName)} AS ${quoteIdentifier(c.name)}`));
}

/** The query whose ArrowStream output has the client's names and our Arrow schema's types. */
export function arrowWireSql(gen: GeneratedSql): string {
  return project(gen, (c) => `CAST(${quoteIdentifier(c.sqlName)} AS ${CAST_TO[arrowKindOf(c.type)]}) AS ${quoteIdentifier(c.name)}`);
}

function project(gen: GeneratedSql, column: (c: GeneratedColumn) => string): string {
  return `SELECT ${gen.columns.map(column).join(', ')} FROM (${gen.sql})`;
}
