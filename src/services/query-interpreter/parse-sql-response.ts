// The answer of POST /parse/sql: `{ast}`, the SelectQuery of src/query/ast.ts
// exactly (strict objects: no field more, none missing). The route is designated
// for remote workers, and the forwarder checks every worker answer against this
// schema before the client sees it; an answer that does not fit is served locally.
import { z } from 'zod';
import type { Expr } from '../../query/ast.js';

const pos = z.object({ line: z.number().int().nonnegative(), column: z.number().int().nonnegative(), offset: z.number().int().min(-1) }).strict();
const name = z.string();
const literalValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const binaryOp = z.enum(['+', '-', '*', '/', '%', '||', '=', '!=', '<', '<=', '>', '>=', 'and', 'or']);

const expr: z.ZodType<Expr> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('literal'), value: literalValue, pos }).strict(),
    z.object({ kind: z.literal('typed'), type: z.enum(['timestamp', 'date']), value: z.string(), pos }).strict(),
    z.object({ kind: z.literal('column'), table: name.optional(), name, pos }).strict(),
    z.object({ kind: z.literal('star'), pos }).strict(),
    z.object({ kind: z.literal('call'), name, args: z.array(expr), distinct: z.boolean(), pos }).strict(),
    z.object({ kind: z.literal('unary'), op: z.enum(['-', 'not']), operand: expr, pos }).strict(),
    z.object({ kind: z.literal('binary'), op: binaryOp, left: expr, right: expr, pos }).strict(),
    z.object({ kind: z.literal('in'), expr, list: z.array(expr), negated: z.boolean(), pos }).strict(),
    z.object({ kind: z.literal('between'), expr, low: expr, high: expr, negated: z.boolean(), pos }).strict(),
    z.object({ kind: z.literal('like'), expr, pattern: expr, negated: z.boolean(), caseInsensitive: z.boolean(), pos }).strict(),
    z.object({ kind: z.literal('isNull'), expr, negated: z.boolean(), pos }).strict(),
    z.object({ kind: z.literal('case'), whens: z.array(z.object({ when: expr, then: expr }).strict()), else: expr.optional(), pos }).strict(),
  ]),
) as z.ZodType<Expr>;

const tableRef = z.object({ table: name, alias: name.optional(), pos }).strict();
const count = z.number().int().nonnegative();

export const selectQuery = z
  .object({
    kind: z.literal('select'),
    distinct: z.boolean(),
    star: z.boolean(),
    items: z.array(z.object({ expr, alias: name.optional(), pos }).strict()),
    from: tableRef,
    joins: z.array(z.object({ type: z.enum(['inner', 'left']), table: tableRef, on: expr, pos }).strict()),
    where: expr.optional(),
    groupBy: z.array(expr),
    having: expr.optional(),
    orderBy: z.array(z.object({ expr, desc: z.boolean(), pos }).strict()),
    limit: count.optional(),
    offset: count.optional(),
  })
  .strict();

export const parseSqlResponse = z.object({ ast: selectQuery }).strict();
