// Binds a parsed query to the tenant's catalog: tables and columns must exist
// (only the tenant's own tables are ever in scope), expressions must type-check,
// aggregates must sit where SQL allows them. Every refusal is a 400 naming the
// offending name with its line and column (SQL) — never an engine error later.
import type { TableEntry } from '../catalog/catalog-store.js';
import { Errors } from '../platform/errors.js';
import type { Expr, Pos, SelectQuery } from './ast.js';
import {
  exprKey,
  hasAggregate,
  NUMERIC_TYPES,
  tablesOf,
  type BExpr,
  type BoundJoin,
  type BoundOutput,
  type BoundQuery,
  type BoundTable,
  type ColumnRef,
  type SqlType,
} from './bound.js';
import { FUNCTIONS } from './functions.js';

const FIXED: ReadonlyArray<[string, SqlType]> = [
  ['data_id', 'String'],
  ['ts_ms', 'Int64'],
  ['date', 'Date'],
  ['lsn', 'UInt64'],
  ['payload', 'String'],
];

const PROMOTED: Record<string, SqlType> = { Float64: 'Float64', Int64: 'Int64', String: 'String', Bool: 'UInt8' };

export const MAX_TABLES = 8;

export function columnsOf(entry: TableEntry): Map<string, SqlType> {
  const cols = new Map<string, SqlType>(FIXED);
  for (const c of entry.columns) cols.set(c.name, PROMOTED[c.type] ?? 'String');
  return cols;
}

function fail(message: string, pos: Pos, extra: Record<string, unknown> = {}): never {
  if (pos.offset < 0) throw Errors.invalidQuery(message, extra);
  throw Errors.invalidQuery(`${message} (line ${pos.line}, column ${pos.column})`, { line: pos.line, column: pos.column, ...extra });
}

const isNum = (t: SqlType) => NUMERIC_TYPES.has(t);
const SQL_TYPES = new Set<string>(['String', 'Float64', 'Int64', 'UInt64', 'UInt8', 'Bool', 'Date', 'DateTime', 'Null']);
const isBoolish = (t: SqlType) => t === 'Bool' || t === 'UInt8' || t === 'Null';

type Clause = 'select' | 'where' | 'on' | 'group by' | 'having' | 'order by';

export function bindQuery(q: SelectQuery, catalog: readonly TableEntry[]): BoundQuery {
  return new Binder(q, catalog).bind();
}

class Binder {
  private readonly tables: BoundTable[] = [];
  private outputs: BoundOutput[] = [];

  constructor(
    private readonly q: SelectQuery,
    private readonly catalog: readonly TableEntry[],
  ) {}

  bind(): BoundQuery {
    const q = this.q;
    const refs = [q.from, ...q.joins.map((j) => j.table)];
    if (refs.length > MAX_TABLES) fail(`a query may join at most ${MAX_TABLES} tables`, refs[MAX_TABLES]!.pos);
    for (const ref of refs) {
      const entry = this.catalog.find((t) => t.table === ref.table);
      if (!entry) fail(`unknown table '${ref.table}'`, ref.pos, { table: ref.table });
      const alias = ref.alias ?? ref.table;
      if (this.tables.some((t) => t.alias === alias)) fail(`table name or alias '${alias}' is used twice; give each an alias`, ref.pos);
      this.tables.push({ idx: this.tables.length, table: ref.table, alias, entry, columns: columnsOf(entry) });
    }

    const where: BExpr[] = [];
    const joins: BoundJoin[] = [];
    q.joins.forEach((j, i) => {
      const t = i + 1;
      const keys: BoundJoin['keys'] = [];
      for (const c of conjuncts(j.on)) {
        const b = this.expr(c, 'on', t);
        this.requireCondition(b, c.pos, 'ON');
        const key = this.joinKey(b, t);
        if (key) keys.push(key);
        else if (j.type === 'inner') where.push(b);
        else fail('LEFT JOIN … ON supports only equalities between a column of the joined table and a column of an earlier table', c.pos);
      }
      if (keys.length === 0) fail(`JOIN ${j.table.alias ?? j.table.table} needs at least one equality with an earlier table in ON`, j.pos);
      joins.push({ type: j.type, t, keys });
    });

    if (q.where) {
      for (const c of conjuncts(q.where)) {
        const b = this.expr(c, 'where');
        this.requireCondition(b, c.pos, 'WHERE');
        where.push(b);
      }
    }
    const groupBy = q.groupBy.map((g) => this.expr(g, 'group by'));

    // Outputs first, so HAVING and ORDER BY may refer to their aliases.
    if (q.star) {
      const dup = new Set<string>();
      const all: Array<{ t: BoundTable; name: string; type: SqlType }> = [];
      for (const t of this.tables) for (const [name, type] of t.columns) all.push({ t, name, type });
      for (const c of all) if (all.filter((o) => o.name === c.name).length > 1) dup.add(c.name);
      this.outputs = all.map((c) => ({
        name: dup.has(c.name) ? `${c.t.alias}.${c.name}` : c.name,
        expr: { k: 'col', ref: { t: c.t.idx, name: c.name }, type: c.type },
        type: c.type,
      }));
    } else {
      this.outputs = q.items.map((item) => {
        const expr = this.expr(item.expr, 'select');
        return { name: item.alias ?? outputName(item.expr), expr, type: expr.type };
      });
    }
    const seen = new Map<string, Pos>();
    q.items.forEach((item, i) => {
      const name = this.outputs[i]!.name;
      if (seen.has(name)) fail(`two result columns are named '${name}'; give one an alias`, item.pos);
      seen.set(name, item.pos);
    });

    const having = q.having ? this.expr(q.having, 'having') : undefined;
    if (having && q.having) this.requireCondition(having, q.having.pos, 'HAVING');
    const orderBy = q.orderBy.map((o) => ({ expr: this.expr(o.expr, 'order by'), desc: o.desc }));

    const aggregate =
      groupBy.length > 0 || this.outputs.some((o) => hasAggregate(o.expr)) || (having !== undefined && hasAggregate(having)) || orderBy.some((o) => hasAggregate(o.expr));
    if (having && !aggregate) fail('HAVING needs GROUP BY or an aggregate', q.having!.pos);
    if (aggregate) {
      if (q.star) fail('SELECT * cannot be combined with GROUP BY or aggregates', q.from.pos);
      const keys = new Set(groupBy.map(exprKey));
      const check = (e: BExpr, pos: Pos, clause: string) => {
        const bad = ungrouped(e, keys);
        if (bad) fail(`column '${bad}' in ${clause} must appear in GROUP BY or be inside an aggregate`, pos, { columnName: bad });
      };
      this.outputs.forEach((o, i) => check(o.expr, q.items[i]!.pos, 'SELECT'));
      if (having) check(having, q.having!.pos, 'HAVING');
      orderBy.forEach((o, i) => check(o.expr, q.orderBy[i]!.pos, 'ORDER BY'));
    }
    const out: BoundQuery = { tables: this.tables, joins, where, groupBy, aggregate, outputs: this.outputs, orderBy, distinct: q.distinct };
    if (having) out.having = having;
    if (q.limit !== undefined) out.limit = q.limit;
    if (q.offset !== undefined) out.offset = q.offset;
    return out;
  }

  private requireCondition(b: BExpr, pos: Pos, clause: string): void {
    if (!isBoolish(b.type)) fail(`${clause} needs a condition, got an expression of type ${b.type}`, pos);
  }

  private joinKey(b: BExpr, t: number): { left: ColumnRef; right: ColumnRef } | undefined {
    if (b.k !== 'bin' || b.op !== '=' || b.left.k !== 'col' || b.right.k !== 'col') return undefined;
    const l = b.left.ref;
    const r = b.right.ref;
    if (l.t === t && r.t < t) return { left: r, right: l };
    if (r.t === t && l.t < t) return { left: l, right: r };
    return undefined;
  }

  private resolveColumn(e: Extract<Expr, { kind: 'column' }>, clause: Clause, maxTable: number): BExpr {
    // ORDER BY may name a result column by its alias (the alias wins, as in
    // standard SQL); HAVING too, when no table column has that name.
    if (e.table === undefined && (clause === 'order by' || clause === 'having')) {
      const out = this.outputs.find((o) => o.name === e.name);
      if (out && (clause === 'order by' || !this.tables.some((t) => t.columns.has(e.name)))) return out.expr;
    }
    const inScope = this.tables.filter((t) => t.idx <= maxTable);
    if (e.table !== undefined) {
      const t = inScope.find((x) => x.alias === e.table);
      if (!t) {
        const later = this.tables.find((x) => x.alias === e.table);
        if (later) fail(`table '${e.table}' is not joined yet at this point`, e.pos);
        fail(`unknown table or alias '${e.table}'`, e.pos, { table: e.table });
      }
      if (!t.columns.has(e.name)) fail(`unknown column '${e.name}' in table '${t.table}'`, e.pos, { columnName: e.name, table: t.table });
      return colOf(t, e.name);
    }
    const found = inScope.filter((t) => t.columns.has(e.name));
    if (found.length === 0) {
      const outAlias = this.outputs.find((o) => o.name === e.name);
      if (outAlias && clause !== 'where' && clause !== 'on' && clause !== 'group by') return outAlias.expr;
      fail(`unknown column '${e.name}'`, e.pos, { columnName: e.name });
    }
    if (found.length > 1) fail(`column '${e.name}' is ambiguous; qualify it (${found.map((t) => `${t.alias}.${e.name}`).join(', ')})`, e.pos);
    return colOf(found[0]!, e.name);
  }

  private expr(e: Expr, clause: Clause, maxTable = Number.MAX_SAFE_INTEGER, inAgg = false): BExpr {
    const sub = (x: Expr) => this.expr(x, clause, maxTable, inAgg);
    switch (e.kind) {
      case 'literal':
        return { k: 'lit', value: e.value, type: literalType(e.value) };
      case 'typed':
        return typedLiteral(e.type, e.value, e.pos);
      case 'column':
        return this.resolveColumn(e, clause, maxTable);
      case 'star':
        return fail('* is only allowed in count(*)', e.pos);
      case 'call': {
        const spec = FUNCTIONS[e.name];
        if (!spec) fail(`unknown or disallowed function '${e.name}'`, e.pos, { function: e.name });
        if (spec.agg) {
          if (clause === 'where' || clause === 'on' || clause === 'group by') fail(`aggregate ${e.name}() is not allowed in ${clause.toUpperCase()}`, e.pos);
          if (inAgg) fail(`aggregate ${e.name}() cannot be nested inside another aggregate`, e.pos);
        }
        if (e.args.length < spec.minArgs || e.args.length > spec.maxArgs) {
          fail(`${e.name}() takes ${spec.minArgs === spec.maxArgs ? spec.minArgs : `${spec.minArgs}–${spec.maxArgs}`} argument(s), got ${e.args.length}`, e.pos);
        }
        if (e.distinct && e.name !== 'count') fail('DISTINCT is only supported in count(DISTINCT …)', e.pos);
        const args: BExpr[] = e.args.map((a) => {
          if (a.kind === 'star') {
            if (e.name !== 'count' || e.distinct) fail('* is only allowed in count(*)', a.pos);
            return { k: 'star', type: 'UInt64' };
          }
          return this.expr(a, clause, maxTable, inAgg || spec.agg);
        });
        if (e.distinct && args.length !== 1) fail('count(DISTINCT …) needs one argument', e.pos);
        const result = spec.result(args.map((a) => a.type), e.distinct);
        if (!SQL_TYPES.has(result)) fail(result, e.pos);
        return { k: 'call', fn: e.name, args, distinct: e.distinct, agg: spec.agg, type: result as SqlType };
      }
      case 'unary': {
        const operand = sub(e.operand);
        if (e.op === 'not') {
          if (!isBoolish(operand.type)) fail(`NOT needs a condition, got ${operand.type}`, e.pos);
          return { k: 'unary', op: 'not', operand, type: 'Bool' };
        }
        if (!isNum(operand.type) && operand.type !== 'Null') fail(`unary minus needs a number, got ${operand.type}`, e.pos);
        return { k: 'unary', op: '-', operand, type: operand.type === 'UInt64' || operand.type === 'UInt8' ? 'Int64' : operand.type };
      }
      case 'binary': {
        const left = sub(e.left);
        const right = sub(e.right);
        switch (e.op) {
          case 'and':
          case 'or':
            if (!isBoolish(left.type) || !isBoolish(right.type)) fail(`${e.op.toUpperCase()} needs conditions on both sides`, e.pos);
            return { k: 'bin', op: e.op, left, right, type: 'Bool' };
          case '||':
            if (!isStrish(left.type) || !isStrish(right.type)) fail(`|| concatenates strings, got ${left.type} and ${right.type}`, e.pos);
            return { k: 'bin', op: e.op, left, right, type: 'String' };
          case '+':
          case '-':
          case '*':
          case '/':
          case '%': {
            if (!isNumish(left.type) || !isNumish(right.type)) fail(`'${e.op}' needs numbers, got ${left.type} and ${right.type}`, e.pos);
            const type: SqlType = e.op === '/' || left.type === 'Float64' || right.type === 'Float64' ? 'Float64' : 'Int64';
            return { k: 'bin', op: e.op, left, right, type };
          }
          default: {
            const [l, r] = coercePair(left, right, e.pos);
            return { k: 'bin', op: e.op, left: l, right: r, type: 'Bool' };
          }
        }
      }
      case 'in': {
        const expr = sub(e.expr);
        const list = e.list.map((x) => {
          const b = sub(x);
          if (b.k !== 'lit') fail('IN lists may only hold literal values', x.pos);
          return coercePair(expr, b, x.pos)[1];
        });
        return { k: 'in', expr, list, negated: e.negated, type: 'Bool' };
      }
      case 'between': {
        const expr = sub(e.expr);
        const low = coercePair(expr, sub(e.low), e.pos)[1];
        const high = coercePair(expr, sub(e.high), e.pos)[1];
        return { k: 'between', expr, low, high, negated: e.negated, type: 'Bool' };
      }
      case 'like': {
        const expr = sub(e.expr);
        const pattern = sub(e.pattern);
        if (!isStrish(expr.type)) fail(`LIKE needs a String on the left, got ${expr.type}`, e.pos);
        if (pattern.k !== 'lit' || typeof pattern.value !== 'string') fail('LIKE needs a string literal pattern', e.pos);
        return { k: 'like', expr, pattern, negated: e.negated, ci: e.caseInsensitive, type: 'Bool' };
      }
      case 'isNull':
        return { k: 'isNull', expr: sub(e.expr), negated: e.negated, type: 'Bool' };
      case 'case': {
        const whens = e.whens.map((w) => {
          const when = sub(w.when);
          if (!isBoolish(when.type)) fail('CASE WHEN needs a condition', w.when.pos);
          return { when, then: sub(w.then) };
        });
        const elseExpr = e.else ? sub(e.else) : undefined;
        const types = [...whens.map((w) => w.then.type), ...(elseExpr ? [elseExpr.type] : [])].filter((t) => t !== 'Null');
        const first = types[0] ?? 'Null';
        if (!types.every((t) => t === first || (isNum(t) && isNum(first)))) fail(`CASE branches have different types: ${types.join(', ')}`, e.pos);
        const type: SqlType = types.every((t) => t === first) ? first : 'Float64';
        const out: BExpr = { k: 'case', whens, type };
        if (elseExpr) out.else = elseExpr;
        return out;
      }
    }
  }
}

const isStrish = (t: SqlType) => t === 'String' || t === 'Null';
const isNumish = (t: SqlType) => isNum(t) || t === 'Null';

function colOf(t: BoundTable, name: string): BExpr {
  return { k: 'col', ref: { t: t.idx, name }, type: t.columns.get(name)! };
}

function literalType(v: unknown): SqlType {
  if (v === null) return 'Null';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'boolean') return 'Bool';
  return Number.isInteger(v) ? 'Int64' : 'Float64';
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function parseInstant(s: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(s)) return undefined;
  const iso = s.replace(' ', 'T');
  const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) || DATE_RE.test(iso) ? iso : `${iso}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

function typedLiteral(type: 'timestamp' | 'date', value: string, pos: Pos): BExpr {
  if (type === 'date') {
    if (!DATE_RE.test(value) || !Number.isFinite(Date.parse(value))) fail(`DATE literal must be YYYY-MM-DD, got '${value}'`, pos);
    return { k: 'lit', value, type: 'Date' };
  }
  const ms = parseInstant(value);
  if (ms === undefined) fail(`TIMESTAMP literal must be ISO-8601 (UTC unless an offset is given), got '${value}'`, pos);
  return { k: 'lit', value: ms, type: 'Int64' };
}

/** Makes a comparison's two sides comparable, turning string literals into dates/times where the other side is one. */
function coercePair(a: BExpr, b: BExpr, pos: Pos): [BExpr, BExpr] {
  const fix = (col: BExpr, lit: BExpr): BExpr => {
    if (lit.k !== 'lit' || typeof lit.value !== 'string') return lit;
    if (col.type === 'Date') {
      if (!DATE_RE.test(lit.value)) fail(`'${lit.value}' is not a date (YYYY-MM-DD)`, pos);
      return { k: 'lit', value: lit.value, type: 'Date' };
    }
    if (col.type === 'DateTime' || (col.k === 'col' && col.ref.name === 'ts_ms')) {
      const ms = parseInstant(lit.value);
      if (ms === undefined) fail(`'${lit.value}' is not an ISO-8601 time`, pos);
      return col.type === 'DateTime' ? { k: 'lit', value: lit.value.replace('T', ' ').slice(0, 19), type: 'DateTime' } : { k: 'lit', value: ms, type: 'Int64' };
    }
    return lit;
  };
  const a2 = fix(b, a);
  const b2 = fix(a, b);
  if (!comparable(a2.type, b2.type)) fail(`cannot compare ${a2.type} with ${b2.type}`, pos);
  return [a2, b2];
}

function comparable(x: SqlType, y: SqlType): boolean {
  if (x === 'Null' || y === 'Null' || x === y) return true;
  if (isNum(x) && isNum(y)) return true;
  return false;
}

function conjuncts(e: Expr): Expr[] {
  if (e.kind === 'binary' && e.op === 'and') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e];
}

/** The first column of `e` used outside an aggregate and not covered by a GROUP BY expression. */
function ungrouped(e: BExpr, keys: Set<string>): string | undefined {
  if (keys.has(exprKey(e))) return undefined;
  if (e.k === 'call' && e.agg) return undefined;
  if (e.k === 'col') return e.ref.name;
  let bad: string | undefined;
  const children: BExpr[] = [];
  switch (e.k) {
    case 'call':
      children.push(...e.args);
      break;
    case 'unary':
      children.push(e.operand);
      break;
    case 'bin':
      children.push(e.left, e.right);
      break;
    case 'in':
      children.push(e.expr, ...e.list);
      break;
    case 'between':
      children.push(e.expr, e.low, e.high);
      break;
    case 'like':
      children.push(e.expr, e.pattern);
      break;
    case 'isNull':
      children.push(e.expr);
      break;
    case 'case':
      for (const w of e.whens) children.push(w.when, w.then);
      if (e.else) children.push(e.else);
      break;
    default:
      break;
  }
  for (const c of children) {
    bad = ungrouped(c, keys);
    if (bad) return bad;
  }
  return undefined;
}

/** Result column name of an unaliased select item. */
function outputName(e: Expr): string {
  if (e.kind === 'column') return e.name;
  return printExpr(e);
}

/** Compact SQL-ish text of an AST expression (result names, plan display). */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return typeof e.value === 'string' ? `'${e.value.replace(/'/g, "''")}'` : String(e.value);
    case 'typed':
      return `${e.type.toUpperCase()} '${e.value}'`;
    case 'column':
      return e.table ? `${e.table}.${e.name}` : e.name;
    case 'star':
      return '*';
    case 'call':
      return `${e.name}(${e.distinct ? 'DISTINCT ' : ''}${e.args.map(printExpr).join(', ')})`;
    case 'unary':
      return e.op === 'not' ? `NOT ${printExpr(e.operand)}` : `-${printExpr(e.operand)}`;
    case 'binary':
      return `${printExpr(e.left)} ${e.op.toUpperCase()} ${printExpr(e.right)}`;
    case 'in':
      return `${printExpr(e.expr)} ${e.negated ? 'NOT ' : ''}IN (${e.list.map(printExpr).join(', ')})`;
    case 'between':
      return `${printExpr(e.expr)} ${e.negated ? 'NOT ' : ''}BETWEEN ${printExpr(e.low)} AND ${printExpr(e.high)}`;
    case 'like':
      return `${printExpr(e.expr)} ${e.negated ? 'NOT ' : ''}${e.caseInsensitive ? 'ILIKE' : 'LIKE'} ${printExpr(e.pattern)}`;
    case 'isNull':
      return `${printExpr(e.expr)} IS ${e.negated ? 'NOT ' : ''}NULL`;
    case 'case':
      return `CASE ${e.whens.map((w) => `WHEN ${printExpr(w.when)} THEN ${printExpr(w.then)}`).join(' ')}${e.else ? ` ELSE ${printExpr(e.else)}` : ''} END`;
  }
}

export { tablesOf };
