// The JSON DSL: {table, filter, groupBy, aggregations, orderBy, limit}. It is
// translated into the same SelectQuery the SQL parser produces, so both share
// one validator, one logical plan and one optimizer.
import { z } from 'zod';
import { NO_POS, type Expr, type LiteralValue, type SelectItem, type SelectQuery } from './ast.js';

const name = z.string().min(1).max(128);
const scalar = z.union([z.string().max(4096), z.number().finite(), z.boolean(), z.null()]);

const comparison = z
  .object({
    column: name,
    op: z.enum(['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'nin', 'between', 'like', 'ilike', 'isNull', 'isNotNull']),
    value: z.union([scalar, z.array(scalar).min(1).max(10_000)]).optional(),
  })
  .strict();

export type DslFilter = z.infer<typeof comparison> | { and: DslFilter[] } | { or: DslFilter[] } | { not: DslFilter };

export const dslFilter: z.ZodType<DslFilter> = z.lazy(() =>
  z.union([
    comparison,
    z.object({ and: z.array(dslFilter).min(1).max(256) }).strict(),
    z.object({ or: z.array(dslFilter).min(1).max(256) }).strict(),
    z.object({ not: dslFilter }).strict(),
  ]),
);

export const dslQuery = z
  .object({
    table: name,
    select: z.array(name).max(256).optional().describe('columns to return when there are no aggregations'),
    filter: dslFilter.optional(),
    groupBy: z.array(name).max(64).optional(),
    aggregations: z
      .array(
        z
          .object({
            fn: z.enum(['count', 'count_distinct', 'sum', 'avg', 'min', 'max']),
            column: name.optional().describe('omitted only for count'),
            as: name.optional(),
          })
          .strict(),
      )
      .max(64)
      .optional(),
    orderBy: z
      .array(z.object({ column: name, direction: z.enum(['asc', 'desc']).default('asc') }).strict())
      .max(64)
      .optional(),
    limit: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    consistency: z.enum(['read-after-write', 'eventual']).optional().describe('as the request body field of the same name'),
  })
  .strict();

export type DslQuery = z.infer<typeof dslQuery>;

const col = (n: string): Expr => ({ kind: 'column', name: n, pos: NO_POS });
const lit = (v: LiteralValue): Expr => ({ kind: 'literal', value: v, pos: NO_POS });

const OPS = { eq: '=', ne: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

function filterExpr(f: DslFilter): Expr {
  if ('and' in f) return f.and.map(filterExpr).reduce((l, r) => ({ kind: 'binary', op: 'and', left: l, right: r, pos: NO_POS }));
  if ('or' in f) return f.or.map(filterExpr).reduce((l, r) => ({ kind: 'binary', op: 'or', left: l, right: r, pos: NO_POS }));
  if ('not' in f) return { kind: 'unary', op: 'not', operand: filterExpr(f.not), pos: NO_POS };
  const c = col(f.column);
  const values = Array.isArray(f.value) ? f.value : f.value === undefined ? [] : [f.value];
  const one = (): LiteralValue => {
    if (Array.isArray(f.value) || f.value === undefined) throw new DslError(`filter on ${f.column}: ${f.op} needs one value`);
    return f.value;
  };
  switch (f.op) {
    case 'eq':
    case 'ne':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return { kind: 'binary', op: OPS[f.op], left: c, right: lit(one()), pos: NO_POS };
    case 'in':
    case 'nin':
      if (values.length === 0) throw new DslError(`filter on ${f.column}: ${f.op} needs a list of values`);
      return { kind: 'in', expr: c, list: values.map(lit), negated: f.op === 'nin', pos: NO_POS };
    case 'between':
      if (!Array.isArray(f.value) || f.value.length !== 2) throw new DslError(`filter on ${f.column}: between needs [low, high]`);
      return { kind: 'between', expr: c, low: lit(f.value[0]!), high: lit(f.value[1]!), negated: false, pos: NO_POS };
    case 'like':
    case 'ilike':
      return { kind: 'like', expr: c, pattern: lit(one()), negated: false, caseInsensitive: f.op === 'ilike', pos: NO_POS };
    case 'isNull':
    case 'isNotNull':
      return { kind: 'isNull', expr: c, negated: f.op === 'isNotNull', pos: NO_POS };
  }
}

export class DslError extends Error {}

/** DSL → the parser's SelectQuery. Throws DslError for shapes zod cannot express. */
export function dslToQuery(q: DslQuery): SelectQuery {
  const items: SelectItem[] = [];
  const groupBy = (q.groupBy ?? []).map(col);
  for (const g of q.groupBy ?? []) items.push({ expr: col(g), pos: NO_POS });
  for (const a of q.aggregations ?? []) {
    if (a.column === undefined && a.fn !== 'count') throw new DslError(`aggregation ${a.fn} needs a column`);
    const fn = a.fn === 'count_distinct' ? 'count' : a.fn;
    const arg: Expr = a.column === undefined ? { kind: 'star', pos: NO_POS } : col(a.column);
    const expr: Expr = { kind: 'call', name: fn, args: [arg], distinct: a.fn === 'count_distinct', pos: NO_POS };
    items.push({ expr, alias: a.as ?? (a.column === undefined ? a.fn : `${a.fn}_${a.column}`), pos: NO_POS });
  }
  if (items.length === 0) for (const s of q.select ?? []) items.push({ expr: col(s), pos: NO_POS });
  else if (q.select?.length) throw new DslError('select cannot be combined with groupBy/aggregations; group by the columns instead');
  const query: SelectQuery = {
    kind: 'select',
    distinct: false,
    star: items.length === 0,
    items,
    from: { table: q.table, pos: NO_POS },
    joins: [],
    groupBy,
    orderBy: (q.orderBy ?? []).map((o) => ({ expr: col(o.column), desc: o.direction === 'desc', pos: NO_POS })),
  };
  if (q.filter) query.where = filterExpr(q.filter);
  if (q.limit !== undefined) query.limit = q.limit;
  if (q.offset !== undefined) query.offset = q.offset;
  return query;
}
