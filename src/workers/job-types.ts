// The job types workers can take, each with the payload an enqueuer must give
// and the result a worker must post back.
import { z } from 'zod';
import { TABLE_NAME_PATTERN, TENANT_ID_PATTERN } from '../platform/http/tenant-id.js';
import { columnStatsResult } from '../catalog/column-stats-sink.js';

const tenant = z.string().regex(TENANT_ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
const table = z.string().regex(TABLE_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');

export const JOB_TYPES = {
  /** Sample a table through the control plane's API, post per-column distinct counts and null fractions for the CBO. */
  'column-stats': {
    payload: z.object({ tenant, table: table.default('events'), sampleRows: z.number().int().min(1).max(10_000).default(1000) }).strict(),
    result: columnStatsResult,
  },
  /** Ask the tenant node to drop the tenant's data older than its TTL (or a given cutoff). */
  'retention-sweep': {
    payload: z
      .object({
        tenant,
        table: table.optional(),
        ttlSeconds: z.number().int().positive().optional(),
        before: z.union([z.number().int().nonnegative(), z.string().max(64)]).optional(),
      })
      .strict()
      .refine((p) => (p.ttlSeconds === undefined) !== (p.before === undefined), { message: 'give exactly one of ttlSeconds or before' }),
    result: z.object({ partitionsDropped: z.number().int().nonnegative(), rowsDeleted: z.number().int().nonnegative() }).passthrough(),
  },
} as const;

export type JobType = keyof typeof JOB_TYPES;
export const JOB_TYPE_NAMES = Object.keys(JOB_TYPES) as JobType[];

export function isJobType(t: string): t is JobType {
  return Object.hasOwn(JOB_TYPES, t);
}
