// Scoped service credentials: a worker's service key may act on tenant data
// only inside a job it holds. The request names the job and lease
// (X-Job-Id, X-Job-Lease); this checks, against the job queue's and the worker
// registry's records in the state store, that the lease is live, of the
// route's job type, for the request's tenant, and held by a worker that this
// very credential registered. Anything else is 403.
import type { Request } from 'express';
import { principalName, type Principal } from '../platform/http/principal.js';
import { Errors } from '../platform/errors.js';
import type { LeaseRequirement } from '../platform/http/route.js';
import type { StateAccess } from '../platform/state-store.js';
import type { JobRecord } from './job-queue.js';
import type { WorkerRecord } from './worker-registry.js';

/** The lease a request acts under, once verified. */
export interface LeaseGrant {
  jobId: string;
  jobType: string;
  workerId: string;
  payload: Record<string, unknown>;
  leaseExpiresAt: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the auth guard when a service credential acts under a job lease. */
    lease?: LeaseGrant;
  }
}

const JOB_ID = /^j-[0-9a-z]{9}-[0-9a-f]{10}$/;

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : undefined;
}

/** Checks one lease claim; returns what the lease allows. */
export async function verifyLease(
  state: StateAccess,
  claim: { jobType: string; jobId: string; leaseId: string; tenant: string; owner: string },
  now = Date.now(),
): Promise<LeaseGrant> {
  const job = JOB_ID.test(claim.jobId) ? await state.sublevel<JobRecord>('jobs').get(claim.jobId) : undefined;
  if (!job) throw Errors.forbidden(`job ${claim.jobId} does not exist: a service credential acts only inside a job it holds`);
  if (job.type !== claim.jobType) throw Errors.forbidden(`job ${job.id} is a ${job.type} job, not ${claim.jobType}`);
  if (job.status !== 'leased' || !job.lease || job.lease.id !== claim.leaseId || job.lease.expiresAt <= now) {
    throw Errors.forbidden(`job ${job.id} is not leased under this lease (status ${job.status}); it may have expired`);
  }
  if (job.payload.tenant !== claim.tenant) throw Errors.forbidden(`job ${job.id} is for tenant ${String(job.payload.tenant)}, not ${claim.tenant}`);
  const worker = await state.sublevel<WorkerRecord>('workers').get(job.lease.workerId);
  if (!worker || worker.owner !== claim.owner) throw Errors.forbidden(`job ${job.id} is leased to a worker registered by another credential`);
  return { jobId: job.id, jobType: job.type, workerId: worker.id, payload: job.payload, leaseExpiresAt: job.lease.expiresAt };
}

/** The lease requirement of a route that a worker calls while it runs a job of `jobType`. */
export function jobLease(jobType: string, state: () => StateAccess): LeaseRequirement {
  return {
    jobType,
    async verify(req: Request, principal: Principal, tenant: string) {
      const jobId = header(req, 'x-job-id');
      const leaseId = header(req, 'x-job-lease');
      if (!jobId || !leaseId) {
        throw Errors.forbidden(`a service credential must name the ${jobType} job it acts for (X-Job-Id and X-Job-Lease)`);
      }
      req.lease = await verifyLease(state(), { jobType, jobId, leaseId, tenant, owner: principalName(principal) });
    },
  };
}
