// Physical plan → ClickHouse SQL. The only input is the plan: table names come
// from TenantTableStore.tableName (bound to the caller's tenant), Parquet paths
// from the catalog under the tenant table's directory (physical-names.ts),
// every literal and identifier from sql-literal.ts. No user text is ever pasted.
//
// Runs on ClickHouse 18.16 and 26.x alike: joins are `ALL INNER|LEFT JOIN` of
// subqueries whose columns are renamed `_t<i>_<col>` (unique on both sides, so
// no version's name-clash rules apply), ILIKE is lower() LIKE lower(), no
// SETTINGS except inside the Parquet subquery (embedded engine only).
import path from 'node:path';
import { Errors } from '../platform/errors.js';
import { quoteIdentifier, quoteString, renderLiteral } from '../storage/clickhouse/sql-literal.js';
import { walk, type BExpr, type ColumnRef, type SqlType } from './bound.js';
import { joinId, type PhysicalPlan, type PlanTree, type ScanNode } from './cbo/optimizer.js';
import { CLICKHOUSE_NAME } from './functions.js';
import { utcDay } from '../storage/clickhouse/tenant-table-schema.js';
import { parquetTableDir, parquetTableSegments } from '../storage/physical-names.js';

export interface GenContext {
  tenant: string;
  /** Quoted, db-qualified ClickHouse table of the caller's tenant. */
  tableName(table: string): string;
  parquetRoot: string;
}

export interface GeneratedColumn {
  /** Name the client sees. */
  name: string;
  /** Name in the engine's result row. */
  sqlName: string;
  type: SqlType;
}

export interface GeneratedSql {
  sql: string;
  columns: GeneratedColumn[];
  /** True when some sqlName differs from name (the executor renames). */
  renamed: boolean;
}

type Namer = (ref: ColumnRef) => string;

const MAX_LIMIT = '9223372036854775807';
const GLOB_UNSAFE = /[*?{}[\],\\]/;

export function generateSql(plan: PhysicalPlan, ctx: GenContext): GeneratedSql {
  const q = plan.query;
  const single = q.tables.length === 1;
  const namer: Namer = single ? (r) => quoteIdentifier(r.name) : (r) => quoteIdentifier(`_t${r.t}_${r.name}`);
  const scopeNames = new Set<string>();
  if (single) for (const c of q.tables[0]!.columns.keys()) scopeNames.add(c);

  const columns: GeneratedColumn[] = [];
  let renamed = false;
  const select = q.outputs.map((o, i) => {
    const rendered = render(o.expr, namer);
    const isSameColumn = single && o.expr.k === 'col' && o.expr.ref.name === o.name;
    if (isSameColumn) {
      columns.push({ name: o.name, sqlName: o.name, type: o.type });
      return rendered;
    }
    let sqlName = o.name;
    if (scopeNames.has(o.name) || /^_[to]\d/.test(o.name)) {
      sqlName = `_o${i}`;
      renamed = true;
    }
    columns.push({ name: o.name, sqlName, type: o.type });
    return `${rendered} AS ${quoteIdentifier(sqlName)}`;
  });

  let sql = `SELECT ${q.distinct ? 'DISTINCT ' : ''}${select.join(', ')} FROM ${fromClause(plan, ctx)}`;
  const where = whereOf(plan, namer);
  if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
  if (q.groupBy.length) sql += ` GROUP BY ${q.groupBy.map((g) => render(g, namer)).join(', ')}`;
  if (q.having) sql += ` HAVING ${render(q.having, namer)}`;
  if (q.orderBy.length) sql += ` ORDER BY ${q.orderBy.map((o) => `${render(o.expr, namer)}${o.desc ? ' DESC' : ' ASC'}`).join(', ')}`;
  if (q.limit !== undefined || q.offset !== undefined) {
    sql += ` LIMIT ${q.limit === undefined ? MAX_LIMIT : renderLiteral(q.limit)}`;
    if (q.offset) sql += ` OFFSET ${renderLiteral(q.offset)}`;
  }
  return { sql, columns, renamed };
}

/**
 * `SELECT count() …` of the rows one plan stage produces, for EXPLAIN ANALYZE:
 * `scan:<t>`, `join:<id>`, `filter`, `aggregate` (groups before HAVING).
 */
export function generateStageCount(plan: PhysicalPlan, ctx: GenContext, stage: string): string | undefined {
  const q = plan.query;
  const single = q.tables.length === 1;
  const namer: Namer = single ? (r) => quoteIdentifier(r.name) : (r) => quoteIdentifier(`_t${r.t}_${r.name}`);
  if (stage.startsWith('scan:')) {
    const scan = findScan(plan.tree, Number(stage.slice(5)));
    if (!scan) return undefined;
    const where = scanWhere(scan, (r) => quoteIdentifier(r.name));
    return `SELECT count() AS c FROM ${scanSource(scan, ctx, plan)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  }
  if (stage.startsWith('join:')) {
    const node = findJoin(plan.tree, stage.slice(5));
    if (!node) return undefined;
    return `SELECT count() AS c FROM ${joinSql(node, plan, ctx)}`;
  }
  const from = fromClause(plan, ctx);
  const where = whereOf(plan, namer);
  const whereSql = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  if (stage === 'filter') return `SELECT count() AS c FROM ${from}${whereSql}`;
  if (stage === 'aggregate') {
    if (!q.groupBy.length) return 'SELECT 1 AS c';
    return `SELECT count() AS c FROM (SELECT 1 AS x FROM ${from}${whereSql} GROUP BY ${q.groupBy.map((g) => render(g, namer)).join(', ')})`;
  }
  return undefined;
}

function findScan(n: PlanTree, t: number): ScanNode | undefined {
  if (n.op === 'scan') return n.t === t ? n : undefined;
  return findScan(n.left, t) ?? (n.right.t === t ? n.right : undefined);
}

function findJoin(n: PlanTree, id: string): PlanTree | undefined {
  if (n.op === 'scan') return undefined;
  return joinId(n) === id ? n : findJoin(n.left, id);
}

function whereOf(plan: PhysicalPlan, namer: Namer): string[] {
  // A single table's filter sits in this query's WHERE; joined tables filter inside their subqueries.
  const out: string[] = [];
  if (plan.tree.op === 'scan') out.push(...scanWhere(plan.tree, namer));
  for (const r of plan.residual) out.push(render(r, namer));
  return out;
}

function fromClause(plan: PhysicalPlan, ctx: GenContext): string {
  if (plan.tree.op === 'scan') return scanSource(plan.tree, ctx, plan);
  return joinSql(plan.tree, plan, ctx);
}

/** Columns of table t any part of the query reads. */
function neededColumns(plan: PhysicalPlan, t: number): string[] {
  const names = new Set<string>();
  const see = (e: BExpr) =>
    walk(e, (n) => {
      if (n.k === 'col' && n.ref.t === t) names.add(n.ref.name);
    });
  const q = plan.query;
  q.outputs.forEach((o) => see(o.expr));
  q.groupBy.forEach(see);
  if (q.having) see(q.having);
  q.orderBy.forEach((o) => see(o.expr));
  plan.residual.forEach(see);
  const keys = (n: PlanTree) => {
    if (n.op === 'scan') return;
    for (const k of n.keys) for (const r of [k.left, k.right]) if (r.t === t) names.add(r.name);
    keys(n.left);
  };
  keys(plan.tree);
  if (names.size === 0) names.add('data_id');
  return [...names].sort();
}

function joinSql(n: PlanTree, plan: PhysicalPlan, ctx: GenContext): string {
  if (n.op === 'scan') return scanSubquery(n, plan, ctx);
  const left = n.left.op === 'scan' ? scanSubquery(n.left, plan, ctx) : `(SELECT * FROM ${joinSql(n.left, plan, ctx)}) AS ${quoteIdentifier(`_j${n.left.right.t}`)}`;
  const on = n.keys.map((k) => `${quoteIdentifier(`_t${k.left.t}_${k.left.name}`)} = ${quoteIdentifier(`_t${k.right.t}_${k.right.name}`)}`).join(' AND ');
  return `${left} ALL ${n.type === 'left' ? 'LEFT' : 'INNER'} JOIN ${scanSubquery(n.right, plan, ctx)} ON ${on}`;
}

function scanSubquery(s: ScanNode, plan: PhysicalPlan, ctx: GenContext): string {
  const cols = neededColumns(plan, s.t).map((c) => `${quoteIdentifier(c)} AS ${quoteIdentifier(`_t${s.t}_${c}`)}`);
  const where = scanWhere(s, (r) => quoteIdentifier(r.name));
  // Current ClickHouse wants joined subqueries named; 18.16 accepts the alias too.
  return `(SELECT ${cols.join(', ')} FROM ${scanSource(s, ctx, plan)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}) AS ${quoteIdentifier(`_s${s.t}`)}`;
}

/** The scan's own conjuncts plus, on ClickHouse, date bounds that let it skip month partitions. */
function scanWhere(s: ScanNode, namer: Namer): string[] {
  const out = s.filter.map((f) => render(f, namer));
  if (s.source === 'clickhouse' && s.timeRange) {
    const date = namer({ t: s.t, name: 'date' });
    if (s.timeRange.fromMs !== undefined && Number.isFinite(s.timeRange.fromMs)) out.push(`${date} >= toDate(${quoteString(utcDay(s.timeRange.fromMs))})`);
    if (s.timeRange.toMs !== undefined && Number.isFinite(s.timeRange.toMs)) out.push(`${date} <= toDate(${quoteString(utcDay(s.timeRange.toMs))})`);
  }
  return out;
}

function scanSource(s: ScanNode, ctx: GenContext, plan: PhysicalPlan): string {
  if (s.source === 'clickhouse') return ctx.tableName(s.table);
  return parquetSource(s, ctx, plan);
}

function parquetSource(s: ScanNode, ctx: GenContext, plan: PhysicalPlan): string {
  const root = path.resolve(ctx.parquetRoot);
  const base = path.join(root, ...parquetTableSegments(ctx.tenant, s.table));
  // Catalog paths are relative to PARQUET_DIR; only this tenant table's own may appear.
  const prefix = `${parquetTableDir(ctx.tenant, s.table)}/`;
  const rels = s.files.map((f) => {
    if (!f.startsWith(prefix) || f.includes('..') || GLOB_UNSAFE.test(f)) throw Errors.internal(new Error(`unexpected Parquet part path ${f}`));
    return f.slice(prefix.length);
  });
  if (rels.length === 0 || GLOB_UNSAFE.test(base)) throw Errors.internal(new Error('Parquet scan without usable files'));
  const glob = rels.length === 1 ? `${base}/${rels[0]}` : `${base}/{${rels.join(',')}}`;
  return `(SELECT ${parquetColumns(plan, s)} FROM file(${quoteString(glob)}, Parquet) SETTINGS use_hive_partitioning = 0)`;
}

function parquetColumns(plan: PhysicalPlan, s: ScanNode): string {
  // Bool is BOOLEAN in Parquet and UInt8 in the ClickHouse table; the rest read back as stored.
  const promoted = plan.query.tables[s.t]!.entry.columns.map((c) =>
    c.type === 'Bool' ? `CAST(${quoteIdentifier(c.name)} AS Nullable(UInt8)) AS ${quoteIdentifier(c.name)}` : quoteIdentifier(c.name),
  );
  return [PARQUET_FIXED, ...promoted].join(', ');
}

const PARQUET_FIXED = "data_id, ts_ms, toDate(toDateTime(intDiv(ts_ms, 1000), 'UTC')) AS date, toUInt64(lsn) AS lsn, payload";

/** ClickHouse SQL of one bound expression. */
export function render(e: BExpr, namer: Namer): string {
  const r = (x: BExpr) => render(x, namer);
  switch (e.k) {
    case 'lit':
      if (e.value === null) return 'NULL';
      if (e.type === 'Date') return `toDate(${quoteString(String(e.value))})`;
      if (e.type === 'DateTime') return `toDateTime(${quoteString(String(e.value))}, 'UTC')`;
      return renderLiteral(e.value);
    case 'col':
      return namer(e.ref);
    case 'star':
      return '';
    case 'call': {
      if (e.fn === 'count') {
        if (e.args.length === 0 || e.args[0]!.k === 'star') return 'count()';
        return e.distinct ? `uniqExact(${r(e.args[0]!)})` : `count(${r(e.args[0]!)})`;
      }
      const name = CLICKHOUSE_NAME[e.fn];
      if (!name) throw Errors.internal(new Error(`no ClickHouse function for ${e.fn}`));
      if (e.fn.startsWith('to')) {
        const a = e.args[0]!;
        // Epoch milliseconds (ts_ms) become a UTC DateTime first.
        const arg = a.type === 'Int64' || a.type === 'UInt64' ? `toDateTime(intDiv(${r(a)}, 1000), 'UTC')` : r(a);
        return e.fn === 'todatetime' && arg.startsWith('toDateTime(') ? arg : `${name}(${arg})`;
      }
      return `${name}(${e.args.map(r).join(', ')})`;
    }
    case 'unary':
      return e.op === 'not' ? `(NOT ${r(e.operand)})` : `(-${r(e.operand)})`;
    case 'bin':
      if (e.op === '||') return `concat(${r(e.left)}, ${r(e.right)})`;
      return `(${r(e.left)} ${e.op === 'and' ? 'AND' : e.op === 'or' ? 'OR' : e.op} ${r(e.right)})`;
    case 'in':
      return `(${r(e.expr)} ${e.negated ? 'NOT IN' : 'IN'} (${e.list.map(r).join(', ')}))`;
    case 'between': {
      const s = `(${r(e.expr)} BETWEEN ${r(e.low)} AND ${r(e.high)})`;
      return e.negated ? `(NOT ${s})` : s;
    }
    case 'like': {
      const s = e.ci ? `(lower(${r(e.expr)}) LIKE lower(${r(e.pattern)}))` : `(${r(e.expr)} LIKE ${r(e.pattern)})`;
      return e.negated ? `(NOT ${s})` : s;
    }
    case 'isNull':
      return `(${r(e.expr)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'case':
      return `CASE ${e.whens.map((w) => `WHEN ${r(w.when)} THEN ${r(w.then)}`).join(' ')} ELSE ${e.else ? r(e.else) : 'NULL'} END`;
  }
}
