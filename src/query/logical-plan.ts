// The logical plan: the operator tree a bound query means, before any choice
// of source, order or algorithm. Scan → Join → Filter → Aggregate → Having →
// Project → Distinct → Sort → Limit. SQL and the DSL both end up here.
import type { BExpr, BoundQuery, ColumnRef } from './bound.js';
import { CLICKHOUSE_NAME } from './functions.js';

export type LogicalNode =
  | { op: 'scan'; table: string; alias: string }
  | { op: 'join'; type: 'inner' | 'left'; on: string[]; left: LogicalNode; right: LogicalNode }
  | { op: 'filter'; predicates: string[]; input: LogicalNode }
  | { op: 'aggregate'; groupBy: string[]; aggregates: string[]; input: LogicalNode }
  | { op: 'having'; predicate: string; input: LogicalNode }
  | { op: 'project'; columns: Array<{ name: string; expr: string; type: string }>; input: LogicalNode }
  | { op: 'distinct'; input: LogicalNode }
  | { op: 'sort'; keys: Array<{ expr: string; direction: 'asc' | 'desc' }>; input: LogicalNode }
  | { op: 'limit'; limit: number | null; offset: number; input: LogicalNode };

export function buildLogicalPlan(q: BoundQuery): LogicalNode {
  const show = (e: BExpr) => displayExpr(e, q);
  let node: LogicalNode = { op: 'scan', table: q.tables[0]!.table, alias: q.tables[0]!.alias };
  for (const j of q.joins) {
    const t = q.tables[j.t]!;
    node = {
      op: 'join',
      type: j.type,
      on: j.keys.map((k) => `${refName(k.left, q)} = ${refName(k.right, q)}`),
      left: node,
      right: { op: 'scan', table: t.table, alias: t.alias },
    };
  }
  if (q.where.length) node = { op: 'filter', predicates: q.where.map(show), input: node };
  if (q.aggregate) {
    const aggs = new Set<string>();
    const collect = (e: BExpr) => {
      if (e.k === 'call' && e.agg) aggs.add(show(e));
      else forChildren(e, collect);
    };
    q.outputs.forEach((o) => collect(o.expr));
    if (q.having) collect(q.having);
    q.orderBy.forEach((o) => collect(o.expr));
    node = { op: 'aggregate', groupBy: q.groupBy.map(show), aggregates: [...aggs], input: node };
  }
  if (q.having) node = { op: 'having', predicate: show(q.having), input: node };
  node = { op: 'project', columns: q.outputs.map((o) => ({ name: o.name, expr: show(o.expr), type: o.type })), input: node };
  if (q.distinct) node = { op: 'distinct', input: node };
  if (q.orderBy.length) node = { op: 'sort', keys: q.orderBy.map((o) => ({ expr: show(o.expr), direction: o.desc ? 'desc' : 'asc' })), input: node };
  if (q.limit !== undefined || q.offset !== undefined) node = { op: 'limit', limit: q.limit ?? null, offset: q.offset ?? 0, input: node };
  return node;
}

function refName(r: ColumnRef, q: BoundQuery): string {
  return q.tables.length > 1 ? `${q.tables[r.t]!.alias}.${r.name}` : r.name;
}

export function forChildren(e: BExpr, fn: (c: BExpr) => void): void {
  switch (e.k) {
    case 'call':
      e.args.forEach(fn);
      break;
    case 'unary':
      fn(e.operand);
      break;
    case 'bin':
      fn(e.left);
      fn(e.right);
      break;
    case 'in':
      fn(e.expr);
      e.list.forEach(fn);
      break;
    case 'between':
      fn(e.expr);
      fn(e.low);
      fn(e.high);
      break;
    case 'like':
      fn(e.expr);
      fn(e.pattern);
      break;
    case 'isNull':
      fn(e.expr);
      break;
    case 'case':
      for (const w of e.whens) {
        fn(w.when);
        fn(w.then);
      }
      if (e.else) fn(e.else);
      break;
    default:
      break;
  }
}

/** Human-readable text of a bound expression (plans, EXPLAIN); never sent to an engine. */
export function displayExpr(e: BExpr, q: BoundQuery): string {
  const d = (x: BExpr) => displayExpr(x, q);
  switch (e.k) {
    case 'lit':
      if (e.type === 'Date') return `DATE '${String(e.value)}'`;
      return typeof e.value === 'string' ? `'${e.value.replace(/'/g, "''")}'` : String(e.value);
    case 'col':
      return refName(e.ref, q);
    case 'star':
      return '*';
    case 'call':
      return `${CLICKHOUSE_NAME[e.fn] ?? e.fn}(${e.distinct ? 'DISTINCT ' : ''}${e.args.map(d).join(', ')})`;
    case 'unary':
      return e.op === 'not' ? `NOT (${d(e.operand)})` : `-${d(e.operand)}`;
    case 'bin':
      return `(${d(e.left)} ${e.op.toUpperCase()} ${d(e.right)})`;
    case 'in':
      return `${d(e.expr)} ${e.negated ? 'NOT ' : ''}IN (${e.list.map(d).join(', ')})`;
    case 'between':
      return `${d(e.expr)} ${e.negated ? 'NOT ' : ''}BETWEEN ${d(e.low)} AND ${d(e.high)}`;
    case 'like':
      return `${d(e.expr)} ${e.negated ? 'NOT ' : ''}${e.ci ? 'ILIKE' : 'LIKE'} ${d(e.pattern)}`;
    case 'isNull':
      return `${d(e.expr)} IS ${e.negated ? 'NOT ' : ''}NULL`;
    case 'case':
      return `CASE ${e.whens.map((w) => `WHEN ${d(w.when)} THEN ${d(w.then)}`).join(' ')}${e.else ? ` ELSE ${d(e.else)}` : ''} END`;
  }
}
