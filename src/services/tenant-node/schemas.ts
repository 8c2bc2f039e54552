import { z } from 'zod';
import { TABLE_NAME_PATTERN } from '../../platform/http/tenant-id.js';

const table = z.string().regex(TABLE_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$').default('events');

/** Epoch milliseconds or an ISO-8601 string. */
const instant = z.union([
  z.coerce.number().int().nonnegative(),
  z.string().max(64).transform((s, ctx) => {
    const ms = Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds or an ISO-8601 time' });
      return z.NEVER;
    }
    return ms;
  }),
]);

export const ingestQuery = z.object({ table: table.optional() });

/** Ingest bodies are checked record by record (index and field in errors), not by this schema. */
export const ingestBody = z.unknown();

export const readQuery = z.object({
  table,
  data_id: z.string().min(1).max(512).optional(),
  from: instant.optional().describe('inclusive; epoch ms or ISO-8601'),
  to: instant.optional().describe('exclusive; epoch ms or ISO-8601'),
  cursor: z.string().max(1100).optional().describe('opaque, from next_cursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(100_000).optional(),
  format: z.enum(['json', 'ndjson']).optional(),
});

export const statsQuery = z.object({ table: z.string().regex(TABLE_NAME_PATTERN).optional() });
