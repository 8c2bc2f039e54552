// Request and response bodies of the Query Interpreter's routes.
import { z } from 'zod';
import { Errors } from '../../platform/errors.js';
import { MAX_SQL_LENGTH } from '../../query/sql-lexer.js';
import { SQL_ALIAS_CONFLICT } from '../../query/request-schemas.js';

export { queryBody } from '../../query/request-schemas.js';
export { parseSqlResponse } from './parse-sql-response.js';

/**
 * POST /parse/sql: the SQL text as `sql` or `query` (no catalog needed). A plain
 * object schema, the alias resolved by sqlTextOf: this route is served by remote
 * workers too, which must answer bad bodies exactly as it does (services/worker.py).
 */
export const sqlBody = z.object({ sql: z.string().max(MAX_SQL_LENGTH).optional(), query: z.string().max(MAX_SQL_LENGTH).optional() }).strict();

export function sqlTextOf(body: z.infer<typeof sqlBody>): string {
  if (body.sql !== undefined && body.query !== undefined) {
    throw Errors.validation(`query: ${SQL_ALIAS_CONFLICT}`, { issues: [{ path: 'query', message: SQL_ALIAS_CONFLICT }] });
  }
  const text = body.sql ?? body.query;
  if (text === undefined) {
    const message = 'required: the SELECT to parse (or its alias "query")';
    throw Errors.validation(`sql: ${message}`, { issues: [{ path: 'sql', message }] });
  }
  return text;
}

/** POST /parse/dsl: a JSON DSL document, checked by the DSL translator itself for a precise 400. */
export const dslBody = z.record(z.string(), z.unknown());
