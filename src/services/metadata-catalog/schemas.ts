import { z } from 'zod';
import { instantSchema, tableNameSchema } from '../../platform/http/common-schemas.js';


export const tablesQuery = z.object({ table: tableNameSchema.optional() });

export const partitionsBody = z
  .object({
    table: tableNameSchema.optional(),
    from: instantSchema.optional().describe('partitions whose rows reach at or after this time'),
    to: instantSchema.optional().describe('partitions whose rows start before this time'),
    limit: z.number().int().min(1).max(100_000).default(10_000),
  })
  .strict();
