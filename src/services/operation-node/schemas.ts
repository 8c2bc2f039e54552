// Request bodies, query strings and path parameters of the Operation Node's routes.
import { z } from 'zod';

export { executeBody, planBody, planQuery } from '../../query/request-schemas.js';

export const statusQuery = z.object({ id: z.string().uuid() });
export const runningQuery = z.object({ state: z.enum(['running', 'finished', 'failed', 'cancelled', 'timeout', 'all']).default('running') });
export const cancelParams = z.object({ id: z.string().uuid() });
export { historyQuery } from '../../query/query-log/history-query.js';
