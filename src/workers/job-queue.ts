// The job queue in the `jobs` sublevel. Services (or an admin) enqueue; workers
// lease jobs of the types they take for a limited time, renew, then complete or
// fail them. A lease that runs out puts the job back in the queue, so a job
// whose worker died is picked up by another. Completing a completed job is a
// harmless no-op; a worker whose lease was lost cannot overwrite the winner.
// Open jobs (queued/leased) are also kept in memory so leasing never scans
// finished ones. All mutations run one at a time.
import { randomBytes } from 'node:crypto';
import { Errors } from '../platform/errors.js';
import type { JsonSublevel, StateAccess } from '../platform/state-store.js';

export type JobStatus = 'queued' | 'leased' | 'completed' | 'failed';

export interface JobLease {
  id: string;
  workerId: string;
  expiresAt: number;
}

export interface JobEvent {
  at: number;
  event: 'enqueued' | 'leased' | 'renewed' | 'lease_expired' | 'completed' | 'failed' | 'retry';
  workerId?: string;
  detail?: string;
}

export interface JobRecord {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  updatedAt: number;
  /** Not leased again before this time (backoff after a failure). */
  notBefore?: number;
  lease?: JobLease;
  result?: unknown;
  error?: string;
  completedBy?: string;
  history: JobEvent[];
}

export interface CompleteOutcome {
  job: JobRecord;
  /** True when the job was already completed: nothing changed. */
  duplicate: boolean;
}

/** Applies a job's result (e.g. writes column statistics); throws to refuse it. Runs before the job is marked completed. */
export type ResultHandler = (job: JobRecord, result: unknown) => Promise<unknown>;

const MAX_HISTORY = 50;

export class JobQueue {
  private readonly open = new Map<string, JobRecord>();
  private readonly handlers = new Map<string, ResultHandler>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: () => StateAccess,
    private readonly opts: {
      leaseMs: number;
      maxAttempts: number;
      now?: () => number;
      /** A job type's own defaults (src/workers/job-types.ts), over leaseMs and maxAttempts. */
      defaultsOf?: (type: string) => { leaseMs?: number; maxAttempts?: number } | undefined;
    },
  ) {}

  private leaseMsOf(type: string, asked: number | undefined): number {
    return asked ?? this.opts.defaultsOf?.(type)?.leaseMs ?? this.opts.leaseMs;
  }

  private get db(): JsonSublevel<JobRecord> {
    return this.state().sublevel<JobRecord>('jobs');
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  get defaultLeaseMs(): number {
    return this.opts.leaseMs;
  }

  /** Result handler for one job type; a type without one stores the result as given. */
  onResult(type: string, handler: ResultHandler): void {
    this.handlers.set(type, handler);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  async load(): Promise<void> {
    this.open.clear();
    for await (const [, job] of this.db.iterator()) {
      if (job.status === 'queued' || job.status === 'leased') this.open.set(job.id, job);
    }
  }

  private async save(job: JobRecord, event: JobEvent): Promise<void> {
    job.updatedAt = event.at;
    job.history.push(event);
    if (job.history.length > MAX_HISTORY) job.history.splice(0, job.history.length - MAX_HISTORY);
    await this.db.put(job.id, job);
    if (job.status === 'queued' || job.status === 'leased') this.open.set(job.id, job);
    else this.open.delete(job.id);
  }

  enqueue(type: string, payload: Record<string, unknown>, maxAttempts?: number): Promise<JobRecord> {
    return this.serial(async () => {
      const now = this.now();
      // Time-ordered ids: leasing takes the oldest first.
      const id = `j-${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`;
      const job: JobRecord = {
        id,
        type,
        payload,
        status: 'queued',
        attempts: 0,
        maxAttempts: maxAttempts ?? this.opts.defaultsOf?.(type)?.maxAttempts ?? this.opts.maxAttempts,
        createdAt: now,
        updatedAt: now,
        history: [],
      };
      await this.save(job, { at: now, event: 'enqueued' });
      return job;
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.open.get(id) ?? (await this.db.get(id));
  }

  async list(filter: { status?: JobStatus; type?: string; limit: number }): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for await (const [, job] of this.db.iterator({ reverse: true })) {
      if ((filter.status && job.status !== filter.status) || (filter.type && job.type !== filter.type)) continue;
      out.push(job);
      if (out.length >= filter.limit) break;
    }
    return out;
  }

  /** The oldest available job of one of `types`, leased to the worker (for `leaseMs`, else its type's default); undefined when there is none. */
  lease(workerId: string, types: readonly string[], leaseMs?: number): Promise<JobRecord | undefined> {
    return this.serial(async () => {
      const now = this.now();
      for (const job of [...this.open.values()]) {
        if (!types.includes(job.type)) continue;
        if (job.status === 'leased') {
          if (job.lease && job.lease.expiresAt > now) continue;
          if (!(await this.returnExpired(job, now))) continue;
        }
        if (job.notBefore !== undefined && job.notBefore > now) continue;
        job.attempts++;
        job.status = 'leased';
        job.lease = { id: randomBytes(12).toString('base64url'), workerId, expiresAt: now + this.leaseMsOf(job.type, leaseMs) };
        await this.save(job, { at: now, event: 'leased', workerId, detail: `attempt ${job.attempts}` });
        return job;
      }
      return undefined;
    });
  }

  /** Puts a job whose lease ran out back in the queue (or fails it after its last attempt); false if it is dead. */
  private async returnExpired(job: JobRecord, now: number): Promise<boolean> {
    const workerId = job.lease?.workerId;
    job.lease = undefined;
    if (job.attempts >= job.maxAttempts) {
      job.status = 'failed';
      job.error = `lease expired on attempt ${job.attempts} of ${job.maxAttempts}`;
      await this.save(job, { at: now, event: 'failed', workerId, detail: job.error });
      return false;
    }
    job.status = 'queued';
    await this.save(job, { at: now, event: 'lease_expired', workerId });
    return true;
  }

  /** Returns expired leases to the queue; the number returned or failed. */
  sweep(): Promise<number> {
    return this.serial(async () => {
      const now = this.now();
      let n = 0;
      for (const job of [...this.open.values()]) {
        if (job.status === 'leased' && job.lease && job.lease.expiresAt <= now) {
          await this.returnExpired(job, now);
          n++;
        }
      }
      return n;
    });
  }

  private async leased(id: string, leaseId: string): Promise<JobRecord> {
    const job = await this.get(id);
    if (!job) throw Errors.notFound(`job ${id}`);
    if (job.status !== 'leased' || job.lease?.id !== leaseId) {
      throw Errors.conflict(`job ${id} is not leased under this lease (status ${job.status}); it may have expired and gone to another worker`);
    }
    return job;
  }

  renew(id: string, leaseId: string, leaseMs?: number): Promise<JobRecord> {
    return this.serial(async () => {
      const job = await this.leased(id, leaseId);
      const now = this.now();
      job.lease!.expiresAt = now + this.leaseMsOf(job.type, leaseMs);
      await this.save(job, { at: now, event: 'renewed', workerId: job.lease!.workerId });
      return job;
    });
  }

  /** Checks that `leaseId` holds the job right now (for lease-scoped reads). */
  async assertLease(id: string, leaseId: string, workerId?: string): Promise<JobRecord> {
    const job = await this.leased(id, leaseId);
    if (workerId !== undefined && job.lease!.workerId !== workerId) throw Errors.forbidden(`job ${id} is leased to another worker`);
    return job;
  }

  complete(id: string, leaseId: string, result: unknown): Promise<CompleteOutcome> {
    return this.serial(async () => {
      const existing = await this.get(id);
      if (!existing) throw Errors.notFound(`job ${id}`);
      if (existing.status === 'completed') return { job: existing, duplicate: true };
      const job = await this.leased(id, leaseId);
      const handler = this.handlers.get(job.type);
      const stored = handler ? await handler(job, result) : result;
      const now = this.now();
      job.status = 'completed';
      job.result = stored;
      job.error = undefined;
      job.completedBy = job.lease!.workerId;
      await this.save(job, { at: now, event: 'completed', workerId: job.lease!.workerId });
      return { job, duplicate: false };
    });
  }

  fail(id: string, leaseId: string, error: string, retriable: boolean): Promise<JobRecord> {
    return this.serial(async () => {
      const job = await this.leased(id, leaseId);
      const now = this.now();
      const workerId = job.lease!.workerId;
      job.lease = undefined;
      job.error = error.slice(0, 2000);
      if (retriable && job.attempts < job.maxAttempts) {
        job.status = 'queued';
        job.notBefore = now + Math.min(30_000, 1000 * 2 ** (job.attempts - 1));
        await this.save(job, { at: now, event: 'retry', workerId, detail: job.error });
      } else {
        job.status = 'failed';
        await this.save(job, { at: now, event: 'failed', workerId, detail: job.error });
      }
      return job;
    });
  }

  /** Counts of open jobs by type and status (for metrics and status pages). */
  openCounts(): Record<string, { queued: number; leased: number }> {
    const out: Record<string, { queued: number; leased: number }> = {};
    for (const job of this.open.values()) {
      const c = (out[job.type] ??= { queued: 0, leased: 0 });
      if (job.status === 'queued') c.queued++;
      else c.leased++;
    }
    return out;
  }
}

/** What a worker sees of a lease: never the history of other workers. */
export function leaseView(job: JobRecord) {
  return {
    job: { id: job.id, type: job.type, payload: job.payload, attempts: job.attempts, maxAttempts: job.maxAttempts },
    leaseId: job.lease!.id,
    leaseExpiresAt: job.lease!.expiresAt,
  };
}
