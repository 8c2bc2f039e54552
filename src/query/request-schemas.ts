// Request bodies shared by the routes that take a query (interpreter, CBO,
// operation node, tenant node): exactly one of `sql` or `dsl`. `query` is
// accepted as another name for `sql` (the name the seed's examples use); giving
// both is a 400, and the handlers only ever see `sql`.
import { z } from 'zod';
import { MAX_SQL_LENGTH } from './sql-lexer.js';

export const SQL_ALIAS_CONFLICT = 'give "sql" or its alias "query", not both';

const sqlText = z.string().max(MAX_SQL_LENGTH);

export const querySource = {
  sql: sqlText.optional().describe('a SELECT in the subset of docs/sql.md'),
  query: sqlText.optional().describe('another name for sql (give one of them)'),
  dsl: z.record(z.string(), z.unknown()).optional().describe('{table, filter, groupBy, aggregations, orderBy, limit}'),
};

/** Moves `query` to `sql`; both given is an issue on `query`. Runs once the object itself is valid. */
function resolveQueryAlias<T extends { sql?: string | undefined; query?: string | undefined }>(v: T, ctx: z.RefinementCtx): Omit<T, 'query'> {
  const { query, ...rest } = v;
  if (query === undefined) return rest;
  if (rest.sql !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['query'], message: SQL_ALIAS_CONFLICT });
    return z.NEVER;
  }
  return { ...rest, sql: query };
}

export const queryBody = z.object({ ...querySource }).strict().transform(resolveQueryAlias);

const consistency = z
  .enum(['read-after-write', 'eventual'])
  .optional()
  .describe('read-after-write (default): wait, up to QUERY_FRESHNESS_WAIT_MS, until every record acknowledged before the query is visible; eventual: read what is applied now');

/** The body's `consistency`, else the DSL's own (a DSL document may carry it too). */
export function consistencyOf(body: { consistency?: 'read-after-write' | 'eventual' | undefined; dsl?: Record<string, unknown> | undefined }): 'read-after-write' | 'eventual' {
  const fromDsl = body.dsl?.consistency;
  return body.consistency ?? (fromDsl === 'eventual' || fromDsl === 'read-after-write' ? fromDsl : 'read-after-write');
}

export const executeBody = z
  .object({
    ...querySource,
    timeoutMs: z.number().int().positive().optional().describe('per-query timeout; default QUERY_TIMEOUT_MS'),
    format: z.enum(['json', 'ndjson', 'arrow']).optional().describe('overrides the Accept header'),
    consistency,
  })
  .strict()
  .transform(resolveQueryAlias);

export const planBody = z
  .object({
    ...querySource,
    analyze: z.boolean().optional().describe('run the query and report actual rows and q-error per node'),
    timeoutMs: z.number().int().positive().optional(),
    consistency,
  })
  .strict()
  .transform(resolveQueryAlias);

export const planQuery = z
  .object({
    sql: sqlText.optional(),
    query: sqlText.optional().describe('another name for sql'),
    analyze: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1'),
  })
  .transform(resolveQueryAlias);
