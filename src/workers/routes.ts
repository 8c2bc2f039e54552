// The callbacks workers make into the control plane (mounted on the Operation
// Node): register, heartbeat, deregister; lease, renew, complete and fail
// jobs; read the sample of a leased column-stats job. All need role service
// (or admin); a worker may only touch its own registration and the jobs leased
// to it, and only declare routes and job types its service really has.
// Listing workers and enqueuing jobs are admin routes.
import type { Request } from 'express';
import { z } from 'zod';
import { SERVICE_IDS } from '../platform/config/schema.js';
import { noteAudit } from '../platform/http/audit-note.js';
import { Errors } from '../platform/errors.js';
import { route } from '../platform/http/route.js';
import { toApiRecord, type RecordSources } from '../records/record-reader.js';
import { designatedRoutesOf, routeKey } from './designated-routes.js';
import { leaseView, type JobRecord } from './job-queue.js';
import { JOB_TYPE_NAMES, isJobType, jobTypeOf } from './job-types.js';
import type { WorkerRecord } from './worker-registry.js';
import type { WorkersRuntime } from './worker-runtime.js';

const workerId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must match ^[A-Za-z0-9._-]{1,64}$');
const leaseId = z.string().min(8).max(64);
const leaseMs = z.number().int().min(1000).max(3_600_000).optional();

const registerBody = z
  .object({
    id: workerId.optional(),
    service: z.enum(SERVICE_IDS),
    url: z.string().max(500).regex(/^https?:\/\/[^\s/]+(\/.*)?$/, 'must be an http(s) URL'),
    routes: z
      .array(z.object({ method: z.string().transform((m) => m.toLowerCase()), path: z.string().startsWith('/').max(200) }))
      .max(100)
      .default([]),
    jobTypes: z.array(z.string().max(64)).max(20).default([]),
    capacity: z.number().int().min(1).max(10_000).default(8),
    version: z.string().max(64).default('unknown'),
  })
  .strict();

const heartbeatBody = z.object({ inFlightJobs: z.number().int().nonnegative().optional() }).strict().default({});
const leaseBody = z.object({ workerId, types: z.array(z.string().max(64)).max(20).optional(), leaseMs }).strict();
const renewBody = z.object({ leaseId, leaseMs }).strict();
const completeBody = z.object({ leaseId, result: z.unknown() }).strict();
const failBody = z.object({ leaseId, error: z.string().max(2000), retriable: z.boolean().default(true) }).strict();
const sampleQuery = z.object({ leaseId, limit: z.coerce.number().int().min(1).max(10_000).optional() });
const enqueueBody = z
  .object({ type: z.string().max(64), payload: z.record(z.string(), z.unknown()).default({}), maxAttempts: z.number().int().min(1).max(100).optional() })
  .strict();
const jobsQuery = z.object({
  status: z.enum(['queued', 'leased', 'completed', 'failed']).optional(),
  type: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

function callerOf(req: Request): { owner: string; admin: boolean } {
  const p = req.principal;
  // Without a principal (auth not enforced on this route) everyone is one anonymous caller.
  return p ? { owner: `${p.kind}:${p.subject}`, admin: p.role === 'admin' } : { owner: 'anonymous', admin: false };
}

/** `records`: where the sample of a leased column-stats job is read from. */
export function workerRoutes(runtime: WorkersRuntime, records: RecordSources) {
  const { registry, queue } = runtime;

  /** The caller's own live worker; 404 unknown or expired (re-register), 403 another credential's. */
  const ownWorker = (req: Request, id: string): WorkerRecord => {
    const w = registry.get(id);
    if (!w || w.status !== 'up') throw Errors.notFound(`worker ${id} (register again)`);
    const { owner, admin } = callerOf(req);
    if (!admin && w.owner !== owner) throw Errors.forbidden(`worker ${id} was registered by another credential`);
    return w;
  };

  /** The job, if it is leased to a worker of the caller's. */
  const ownJob = async (req: Request, id: string): Promise<JobRecord> => {
    const job = await queue.get(id);
    if (!job) throw Errors.notFound(`job ${id}`);
    const holder = job.lease ? registry.get(job.lease.workerId) : registry.get(job.completedBy ?? '');
    const { owner, admin } = callerOf(req);
    if (!admin && holder && holder.owner !== owner) throw Errors.forbidden(`job ${id} is leased to another worker`);
    return job;
  };

  return [
    route({
      method: 'post',
      path: '/workers/register',
      operation: 'workers.register',
      auth: 'service',
      summary: 'A worker announces itself: service, URL, routes and job types it takes, capacity, version',
      body: registerBody,
      requires: ['stateStore'],
      handler: async ({ req, res, body }) => {
        const allowed = new Set(designatedRoutesOf(body.service).map((r) => routeKey(r.method, r.path)));
        const foreign = body.routes.filter((r) => !allowed.has(routeKey(r.method, r.path)));
        if (foreign.length > 0) {
          throw Errors.validation(`routes not designated for ${body.service}: ${foreign.map((r) => routeKey(r.method, r.path)).join(', ')}`, {
            field: 'routes',
            allowed: [...allowed],
          });
        }
        const unknown = body.jobTypes.filter((t) => !isJobType(t));
        if (unknown.length > 0) throw Errors.validation(`unknown job types: ${unknown.join(', ')}`, { field: 'jobTypes', known: JOB_TYPE_NAMES });
        const { owner, admin } = callerOf(req);
        const prev = body.id ? registry.get(body.id) : undefined;
        if (prev && prev.status === 'up' && !admin && prev.owner !== owner) throw Errors.forbidden(`worker id ${body.id} is taken by another credential`);
        const w = await registry.register(body, owner);
        req.log.info({ worker: w.id, service: w.service, url: w.url, routes: w.routes.length, jobTypes: w.jobTypes, version: w.version }, 'worker registered');
        res.status(201);
        return {
          id: w.id,
          forwardToken: w.forwardToken,
          heartbeatIntervalMs: Math.max(100, Math.floor(registry.ttlMs / 3)),
          ttlMs: registry.ttlMs,
        };
      },
    }),
    route({
      method: 'post',
      path: '/workers/:id/heartbeat',
      operation: 'workers.heartbeat',
      auth: 'service',
      summary: 'A worker is alive; 404 means it expired and must register again',
      body: heartbeatBody,
      requires: ['stateStore'],
      handler: async ({ req, body }) => {
        const w = ownWorker(req, String(req.params.id));
        await registry.heartbeat(w.id, body.inFlightJobs);
        return { ok: true, ttlMs: registry.ttlMs };
      },
    }),
    route({
      method: 'delete',
      path: '/workers/:id',
      operation: 'workers.deregister',
      auth: 'service',
      summary: 'A worker leaves (clean shutdown)',
      requires: ['stateStore'],
      handler: async ({ req, res }) => {
        const w = ownWorker(req, String(req.params.id));
        await registry.remove(w.id);
        req.log.info({ worker: w.id, service: w.service }, 'worker deregistered');
        res.status(204).end();
        return undefined;
      },
    }),
    route({
      method: 'get',
      path: '/workers',
      operation: 'workers.list',
      auth: 'operator',
      summary: 'Registered workers, forwarding targets with their circuit state, open jobs',
      requires: [],
      handler: () => runtime.status(),
    }),
    route({
      method: 'post',
      path: '/jobs',
      operation: 'jobs.enqueue',
      auth: 'admin',
      audit: 'admin.jobs.enqueue',
      summary: `Enqueue a job of a registered type (${JOB_TYPE_NAMES.join(', ')}); an unknown type or a payload that does not fit its schema is a 400`,
      body: enqueueBody,
      requires: ['stateStore'],
      handler: async ({ req, res, body }) => {
        const job = await runtime.enqueue(body.type, body.payload, body.maxAttempts);
        const tenant = job.payload.tenant;
        noteAudit(req, { target: `job:${job.id}`, ...(typeof tenant === 'string' ? { tenant } : {}), details: { type: job.type } });
        res.status(201);
        return job;
      },
    }),
    route({
      method: 'get',
      path: '/jobs',
      operation: 'jobs.list',
      auth: 'admin',
      summary: 'Jobs, newest first, by status and type',
      query: jobsQuery,
      requires: ['stateStore'],
      handler: async ({ query }) => ({ jobs: await queue.list(query) }),
    }),
    route({
      method: 'get',
      path: '/jobs/:id',
      operation: 'jobs.get',
      auth: 'admin',
      summary: 'One job with its history',
      requires: ['stateStore'],
      handler: async ({ req }) => {
        const job = await queue.get(String(req.params.id));
        if (!job) throw Errors.notFound(`job ${String(req.params.id)}`);
        return job;
      },
    }),
    route({
      method: 'post',
      path: '/jobs/lease',
      operation: 'jobs.lease',
      auth: 'service',
      summary: 'Lease the oldest queued job of the worker’s types; 204 when there is none',
      body: leaseBody,
      requires: ['stateStore'],
      handler: async ({ req, res, body }) => {
        const w = ownWorker(req, body.workerId);
        const types = body.types ?? w.jobTypes;
        const foreign = types.filter((t) => !w.jobTypes.includes(t));
        if (foreign.length > 0) throw Errors.forbidden(`worker ${w.id} did not register for job types ${foreign.join(', ')}`);
        const job = await queue.lease(w.id, types, body.leaseMs);
        if (!job) {
          res.status(204).end();
          return undefined;
        }
        runtime.countJob(job, 'leased');
        req.log.info({ job: job.id, type: job.type, worker: w.id, attempt: job.attempts }, 'job leased');
        return leaseView(job);
      },
    }),
    route({
      method: 'post',
      path: '/jobs/:id/renew',
      operation: 'jobs.renew',
      auth: 'service',
      summary: 'Extend a lease; 409 when it was lost',
      body: renewBody,
      requires: ['stateStore'],
      handler: async ({ req, body }) => {
        const id = String(req.params.id);
        await ownJob(req, id);
        const job = await queue.renew(id, body.leaseId, body.leaseMs);
        return { id: job.id, leaseExpiresAt: job.lease!.expiresAt };
      },
    }),
    route({
      method: 'post',
      path: '/jobs/:id/complete',
      operation: 'jobs.complete',
      auth: 'service',
      summary: 'Post a job’s result; completing a completed job changes nothing',
      body: completeBody,
      requires: ['stateStore'],
      handler: async ({ req, body }) => {
        const id = String(req.params.id);
        await ownJob(req, id);
        const { job, duplicate } = await queue.complete(id, body.leaseId, body.result);
        if (!duplicate) {
          runtime.countJob(job, 'completed');
          req.log.info({ job: job.id, type: job.type, worker: job.completedBy }, 'job completed');
        }
        return { id: job.id, status: job.status, duplicate, completedBy: job.completedBy };
      },
    }),
    route({
      method: 'post',
      path: '/jobs/:id/fail',
      operation: 'jobs.fail',
      auth: 'service',
      summary: 'Report a failed attempt; retriable failures go back to the queue with backoff',
      body: failBody,
      requires: ['stateStore'],
      handler: async ({ req, body }) => {
        const id = String(req.params.id);
        await ownJob(req, id);
        const job = await queue.fail(id, body.leaseId, body.error, body.retriable);
        runtime.countJob(job, job.status === 'failed' ? 'failed' : 'retry');
        req.log.warn({ job: job.id, type: job.type, status: job.status, error: body.error }, 'job attempt failed');
        return { id: job.id, status: job.status, attempts: job.attempts };
      },
    }),
    route({
      method: 'get',
      path: '/jobs/:id/sample',
      operation: 'jobs.sample',
      auth: 'service',
      summary: 'NDJSON sample of the table of a leased column-stats job, spread over the table (the only tenant data a worker may read); X-Table-Rows says how many rows the table has',
      query: sampleQuery,
      requires: ['clickhouse'],
      handler: async ({ req, res, query }) => {
        const id = String(req.params.id);
        await ownJob(req, id);
        const job = await queue.assertLease(id, query.leaseId);
        if (!isJobType(job.type) || !jobTypeOf(job.type).readsSample) throw Errors.forbidden(`job ${id} is a ${job.type} job: it reads no tenant data`);
        const { tenant, table, sampleRows } = job.payload as { tenant: string; table: string; sampleRows: number };
        const limit = Math.min(query.limit ?? sampleRows, sampleRows);
        // Rows spread over the whole table (by a hash of data_id), not its oldest: a sample of the data, not of its first days.
        const [rows, tableRows] = await Promise.all([records.tables.sample(tenant, table, limit), records.tables.count(tenant, table)]);
        res.status(200).type('application/x-ndjson').setHeader('X-Table-Rows', String(tableRows));
        res.end(rows.map((r) => JSON.stringify(toApiRecord(r))).join('\n') + (rows.length ? '\n' : ''));
        return undefined;
      },
    }),
  ];
}
