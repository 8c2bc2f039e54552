import { z } from 'zod';
import { instantSchema, tableNameSchema } from '../../platform/http/common-schemas.js';

const table = tableNameSchema.default('events');


export const ingestQuery = z.object({ table: table.optional() });

/** Ingest bodies are checked record by record (index and field in errors), not by this schema. */
export const ingestBody = z.unknown();

export const readQuery = z.object({
  table,
  data_id: z.string().min(1).max(512).optional(),
  from: instantSchema.optional().describe('inclusive; epoch ms or ISO-8601'),
  to: instantSchema.optional().describe('exclusive; epoch ms or ISO-8601'),
  cursor: z.string().max(1100).optional().describe('opaque, from next_cursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(100_000).optional(),
  format: z.enum(['json', 'ndjson']).optional(),
});

export const statsQuery = z.object({ table: tableNameSchema.optional() });
