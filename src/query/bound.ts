// The validated query: every name resolved against the catalog, every
// expression typed. This is what the logical plan, the optimizer and the SQL
// generator work from; nothing downstream looks at user text again.
import type { TableEntry } from '../catalog/catalog-store.js';
import type { BinaryOp, LiteralValue } from './ast.js';

export type SqlType = 'String' | 'Float64' | 'Int64' | 'UInt64' | 'UInt8' | 'Bool' | 'Date' | 'DateTime' | 'Null';

export const NUMERIC_TYPES: ReadonlySet<SqlType> = new Set(['Float64', 'Int64', 'UInt64', 'UInt8', 'Bool']);

export interface ColumnRef {
  /** Index into BoundQuery.tables. */
  t: number;
  name: string;
}

export type BExpr =
  | { k: 'lit'; value: LiteralValue; type: SqlType }
  | { k: 'col'; ref: ColumnRef; type: SqlType }
  | { k: 'star'; type: 'UInt64' }
  | { k: 'call'; fn: string; args: BExpr[]; distinct: boolean; agg: boolean; type: SqlType }
  | { k: 'unary'; op: '-' | 'not'; operand: BExpr; type: SqlType }
  | { k: 'bin'; op: BinaryOp; left: BExpr; right: BExpr; type: SqlType }
  | { k: 'in'; expr: BExpr; list: BExpr[]; negated: boolean; type: 'Bool' }
  | { k: 'between'; expr: BExpr; low: BExpr; high: BExpr; negated: boolean; type: 'Bool' }
  | { k: 'like'; expr: BExpr; pattern: BExpr; negated: boolean; ci: boolean; type: 'Bool' }
  | { k: 'isNull'; expr: BExpr; negated: boolean; type: 'Bool' }
  | { k: 'case'; whens: Array<{ when: BExpr; then: BExpr }>; else?: BExpr; type: SqlType };

export interface BoundTable {
  idx: number;
  table: string;
  alias: string;
  entry: TableEntry;
  columns: Map<string, SqlType>;
}

export interface BoundJoin {
  type: 'inner' | 'left';
  /** The table joined in (right side as written). */
  t: number;
  /** Equalities between a column of an earlier table (left) and of t (right). */
  keys: Array<{ left: ColumnRef; right: ColumnRef }>;
}

export interface BoundOutput {
  name: string;
  expr: BExpr;
  type: SqlType;
}

export interface BoundQuery {
  tables: BoundTable[];
  joins: BoundJoin[];
  /** Conjuncts of WHERE (and of INNER JOIN ON conditions that are not key equalities). */
  where: BExpr[];
  groupBy: BExpr[];
  /** True when the query aggregates (GROUP BY or an aggregate anywhere). */
  aggregate: boolean;
  having?: BExpr;
  outputs: BoundOutput[];
  orderBy: Array<{ expr: BExpr; desc: boolean }>;
  distinct: boolean;
  limit?: number;
  offset?: number;
}

/** Tables a bound expression reads. */
export function tablesOf(e: BExpr, out = new Set<number>()): Set<number> {
  walk(e, (n) => {
    if (n.k === 'col') out.add(n.ref.t);
  });
  return out;
}

export function walk(e: BExpr, fn: (n: BExpr) => void): void {
  fn(e);
  switch (e.k) {
    case 'call':
      e.args.forEach((a) => walk(a, fn));
      break;
    case 'unary':
      walk(e.operand, fn);
      break;
    case 'bin':
      walk(e.left, fn);
      walk(e.right, fn);
      break;
    case 'in':
      walk(e.expr, fn);
      e.list.forEach((a) => walk(a, fn));
      break;
    case 'between':
      walk(e.expr, fn);
      walk(e.low, fn);
      walk(e.high, fn);
      break;
    case 'like':
      walk(e.expr, fn);
      walk(e.pattern, fn);
      break;
    case 'isNull':
      walk(e.expr, fn);
      break;
    case 'case':
      for (const w of e.whens) {
        walk(w.when, fn);
        walk(w.then, fn);
      }
      if (e.else) walk(e.else, fn);
      break;
    default:
      break;
  }
}

export function hasAggregate(e: BExpr): boolean {
  let found = false;
  walk(e, (n) => {
    if (n.k === 'call' && n.agg) found = true;
  });
  return found;
}

/** A canonical key: equal keys mean the same expression (GROUP BY matching, plan cache). */
export function exprKey(e: BExpr): string {
  return JSON.stringify(e);
}
