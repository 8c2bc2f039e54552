import { z } from 'zod';

export const logsQuery = z.object({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).optional(),
  service: z.string().max(64).optional(),
  requestId: z.string().max(128).optional(),
  since: z.coerce.number().int().nonnegative().optional().describe('epoch milliseconds'),
  until: z.coerce.number().int().nonnegative().optional().describe('epoch milliseconds'),
  limit: z.coerce.number().int().min(1).max(2000).default(200),
});
