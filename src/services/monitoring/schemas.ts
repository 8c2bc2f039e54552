import { z } from 'zod';

export { historyQuery } from '../../query/query-log/history-query.js';

/** Epoch milliseconds or an ISO-8601 timestamp. */
const instant = z.union([
  z.coerce.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

export const logsQuery = z.object({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).optional().describe('minimum level'),
  service: z.string().max(64).optional(),
  requestId: z.string().max(128).optional(),
  since: instant.optional().describe('epoch milliseconds or ISO-8601; entries at or after'),
  until: instant.optional().describe('epoch milliseconds or ISO-8601; entries at or before'),
  limit: z.coerce.number().int().min(1).max(2000).default(200),
});

export const alertsQuery = z.object({
  state: z.enum(['inactive', 'pending', 'firing']).optional(),
});

export const snapshotQuery = z.object({
  points: z.coerce.number().int().min(1).max(3600).default(300).describe('chart points per series'),
  logs: z.coerce.number().int().min(0).max(500).default(50).describe('recent log entries'),
});

export const loginBody = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});

/** As POST /auth/refresh takes it. */
export const refreshBody = z.strictObject({
  refresh_token: z.string().min(1).max(512),
});

export const consoleCancelParams = z.object({ id: z.string().uuid() });
