// Request bodies shared by the routes that take a query (interpreter, CBO,
// operation node, tenant node): exactly one of `sql` or `dsl`.
import { z } from 'zod';
import { MAX_SQL_LENGTH } from './sql-lexer.js';

export const querySource = {
  sql: z.string().max(MAX_SQL_LENGTH).optional().describe('a SELECT in the subset of docs/sql.md'),
  dsl: z.record(z.string(), z.unknown()).optional().describe('{table, filter, groupBy, aggregations, orderBy, limit}'),
};

export const queryBody = z.object({ ...querySource }).strict();

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
  .strict();

export const planBody = z
  .object({
    ...querySource,
    analyze: z.boolean().optional().describe('run the query and report actual rows and q-error per node'),
    timeoutMs: z.number().int().positive().optional(),
    consistency,
  })
  .strict();

export const planQuery = z.object({
  sql: z.string().max(MAX_SQL_LENGTH).optional(),
  analyze: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1'),
});
