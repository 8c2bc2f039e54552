// Request bodies of the Query Interpreter's routes.
import { z } from 'zod';

export { queryBody } from '../../query/request-schemas.js';

/** POST /parse/sql: the SQL text only (no catalog needed). */
export const sqlBody = z.object({ sql: z.string().max(64 * 1024) }).strict();

/** POST /parse/dsl: a JSON DSL document, checked by the DSL translator itself for a precise 400. */
export const dslBody = z.record(z.string(), z.unknown());
