// The one registry of job types workers can take. Each declares the payload an
// enqueuer must give (checked at POST /jobs: a bad one is a 400 and nothing is
// queued), the result a worker must post (checked at POST /jobs/:id/complete: a
// misfit is a 400 and the job stays leased), its lease defaults, and what a
// completed result does. A worker registers the types it serves; anything not
// in this registry is refused there and at enqueue. Adding a type is one entry
// here (services/README.md walks through column-stats as the example).
import { z, type ZodType } from 'zod';
import { columnStatsResult, type ColumnStatsSink } from '../catalog/column-stats-sink.js';
import { TABLE_NAME_PATTERN, TENANT_ID_PATTERN } from '../platform/http/tenant-id.js';
import type { JobRecord } from './job-queue.js';

/** What a result handler may use. */
export interface JobTypeContext {
  columnStats: ColumnStatsSink;
  now: () => number;
}

export interface JobTypeDefinition<P = unknown, R = unknown> {
  /** One line for listings and documentation. */
  summary: string;
  /** The job's payload, given at enqueue (defaults filled in here are what the worker sees). */
  payload: ZodType<P>;
  /** What a worker posts when it completes the job. */
  result: ZodType<R>;
  /** Lease length and attempts when the caller names none (else JOB_LEASE_MS, JOB_MAX_ATTEMPTS). */
  lease: { leaseMs?: number; maxAttempts?: number };
  /** May a worker holding this job read a sample of the payload's table (GET /jobs/:id/sample)? */
  readsSample?: boolean;
  /** Applies a completed result (before the job is marked completed); returns what the job record keeps. */
  onResult(job: JobRecord & { payload: P }, result: R, ctx: JobTypeContext): Promise<unknown>;
}

/** Keeps each entry's payload and result types together (a plain object literal would widen them). */
function defineJobType<P, R>(def: JobTypeDefinition<P, R>): JobTypeDefinition<P, R> {
  return def;
}

const tenant = z.string().regex(TENANT_ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
const table = z.string().regex(TABLE_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');

export const JOB_TYPES = {
  /** Statistics of a table's columns from a sample, for the optimizer. */
  'column-stats': defineJobType({
    summary: 'Sample a table and post per-column statistics (nulls, min/max, distinct, most common values, histograms) for the CBO',
    payload: z.object({ tenant, table: table.default('events'), sampleRows: z.number().int().min(1).max(10_000).default(1000) }).strict(),
    result: columnStatsResult,
    lease: { leaseMs: 60_000, maxAttempts: 3 },
    readsSample: true,
    async onResult(job, result, ctx) {
      const stats = { ...result, at: ctx.now() };
      await ctx.columnStats.write(job.payload.tenant, job.payload.table, stats);
      return stats;
    },
  }),
  /** Drop a tenant's data past its TTL (or a given cutoff) through the tenant node. */
  'retention-sweep': defineJobType({
    summary: 'Ask the tenant node to drop the tenant’s whole days before a cutoff (POST /data/retention/sweep, inside the lease)',
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
    lease: {},
    async onResult(_job, result) {
      return result;
    },
  }),
};

export type JobType = keyof typeof JOB_TYPES;
export const JOB_TYPE_NAMES = Object.keys(JOB_TYPES) as JobType[];

export function isJobType(t: string): t is JobType {
  return Object.hasOwn(JOB_TYPES, t);
}

/** The registry entry of a known type, with its types erased for generic callers. */
export function jobTypeOf(t: JobType): JobTypeDefinition {
  return JOB_TYPES[t] as unknown as JobTypeDefinition;
}
