import { z } from 'zod';
import { TABLE_NAME_PATTERN } from '../../platform/http/tenant-id.js';

const instant = z.union([
  z.number().int().nonnegative(),
  z.string().max(64).transform((s, ctx) => {
    const ms = Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds or an ISO-8601 time' });
      return z.NEVER;
    }
    return ms;
  }),
]);

export const tablesQuery = z.object({ table: z.string().regex(TABLE_NAME_PATTERN).optional() });

export const partitionsBody = z
  .object({
    table: z.string().regex(TABLE_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$').optional(),
    from: instant.optional().describe('partitions whose rows reach at or after this time'),
    to: instant.optional().describe('partitions whose rows start before this time'),
    limit: z.number().int().min(1).max(100_000).default(10_000),
  })
  .strict();
