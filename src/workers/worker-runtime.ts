// Everything the remote-worker feature needs in one process, built once by
// boot and handed to the services that forward or serve callbacks: the worker registry, the job queue, the column
// statistics sink, one forwarder per service (only with DISTRIBUTED_MODE=true)
// over one pooled undici agent, and the background sweeps.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Agent } from 'undici';
import type { AppConfig } from '../platform/config/load-config.js';
import type { ServiceId } from '../platform/config/schema.js';
import { Errors } from '../platform/errors.js';
import type { StateAccess } from '../platform/state-store.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import { CatalogColumnStatsSink, type ColumnStatsSink } from '../catalog/column-stats-sink.js';
import { jobLease } from './lease-verifier.js';
import type { LeaseRequirement } from '../platform/http/route.js';
import { designatedRoutesOf } from './designated-routes.js';
import { ServiceForwarder } from './forwarder.js';
import { JobQueue, type JobRecord } from './job-queue.js';
import { JOB_TYPE_NAMES, isJobType, jobTypeOf, type JobTypeContext } from './job-types.js';
import { registerWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { WorkerRegistry } from './worker-registry.js';

export class WorkersRuntime {
  readonly registry: WorkerRegistry;
  readonly queue: JobQueue;
  readonly columnStats: ColumnStatsSink;
  readonly metrics: WorkerMetrics;
  private readonly forwarders = new Map<ServiceId, ServiceForwarder>();
  private agent?: Agent;
  /** undici's Agent class, loaded by start() in distributed mode only (a hundred modules nobody else needs). */
  private AgentClass?: typeof Agent;
  private started?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  private readonly log;

  constructor(
    private readonly settings: AppConfig['workers'],
    /** The workers' own sublevels (registrations and jobs). */
    private readonly stateStore: StateAccess,
    /** Where column-stats job results land. */
    catalog: CatalogStore,
    metricsRegistry: Registry,
    logger: Logger,
  ) {
    const cfg = settings;
    const state = () => stateStore;
    this.log = logger.child({ component: 'workers' });
    this.registry = new WorkerRegistry(state, cfg.heartbeatTtlMs);
    this.queue = new JobQueue(state, {
      leaseMs: cfg.jobLeaseMs,
      maxAttempts: cfg.jobMaxAttempts,
      defaultsOf: (type) => (isJobType(type) ? jobTypeOf(type).lease : undefined),
    });
    this.columnStats = new CatalogColumnStatsSink(catalog);
    this.metrics = registerWorkerMetrics(metricsRegistry, {
      liveWorkers: () => {
        const out: Record<string, number> = {};
        for (const w of this.registry.live()) out[w.service] = (out[w.service] ?? 0) + 1;
        return out;
      },
      openJobs: () => this.queue.openCounts(),
    });
    // Every registered job type: its result is checked against its schema, then applied by its handler.
    const ctx: JobTypeContext = { columnStats: this.columnStats, now: Date.now };
    for (const type of JOB_TYPE_NAMES) {
      const def = jobTypeOf(type);
      this.queue.onResult(type, async (job, result) => {
        const parsed = def.result.safeParse(result);
        if (!parsed.success) throw Errors.validation(`${type} result: ${issuesOf(parsed.error)}`, { field: 'result' });
        return def.onResult(job, parsed.data, ctx);
      });
    }
  }

  /**
   * Queues a job of a registered type after checking its payload: an unknown
   * type or a payload that does not fit is a 400 and nothing is queued.
   */
  async enqueue(type: string, payload: unknown, maxAttempts?: number): Promise<JobRecord> {
    if (!isJobType(type)) throw Errors.validation(`unknown job type ${type}`, { field: 'type', known: JOB_TYPE_NAMES });
    const parsed = jobTypeOf(type).payload.safeParse(payload);
    if (!parsed.success) throw Errors.validation(`payload of a ${type} job: ${issuesOf(parsed.error)}`, { field: 'payload' });
    const job = await this.queue.enqueue(type, parsed.data as Record<string, unknown>, maxAttempts);
    this.countJob(job, 'enqueued');
    return job;
  }

  /** The forwarder of a service, when distributed mode is on and it has designated routes. */
  forwarder(service: ServiceId): ServiceForwarder | undefined {
    const cfg = this.settings;
    if (!cfg.distributedMode || designatedRoutesOf(service).length === 0) return undefined;
    let f = this.forwarders.get(service);
    if (!f) {
      // Keep-alive connections per worker origin; one agent for all forwarders.
      if (!this.AgentClass) throw new Error('workers runtime: forwarder() before start()');
      this.agent ??= new this.AgentClass({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 256 });
      f = new ServiceForwarder(service, cfg.urls[service], {
        agent: this.agent,
        settings: cfg,
        metrics: this.metrics,
        logger: this.log,
        registry: this.registry,
      });
      this.forwarders.set(service, f);
      // Services are built after the runtime started: their forwarders start here.
      if (this.started) f.start();
    }
    return f;
  }

  /** Loads registrations and open jobs, then starts expiry sweeps and health checks. Idempotent. */
  start(): Promise<void> {
    this.started ??= (async () => {
      if (this.settings.distributedMode) this.AgentClass = (await import('undici')).Agent;
      await this.registry.load();
      await this.queue.load();
      const every = Math.max(100, Math.min(1000, Math.floor(this.registry.ttlMs / 3)));
      const sweep = async () => {
        try {
          for (const w of await this.registry.expire()) {
            this.log.warn({ worker: w.id, service: w.service, url: w.url }, 'worker expired: no heartbeat');
          }
          const returned = await this.queue.sweep();
          if (returned > 0) this.log.info({ jobs: returned }, 'expired job leases returned to the queue');
        } catch (err) {
          this.log.error({ err }, 'worker sweep failed');
        }
        if (this.sweepTimer) this.sweepTimer = setTimeout(() => void sweep(), every).unref();
      };
      this.sweepTimer = setTimeout(() => void sweep(), every).unref();
      for (const f of this.forwarders.values()) f.start();
    })();
    return this.started;
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const f of this.forwarders.values()) f.stop();
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close().catch(() => undefined);
  }

  /** Registered workers, forwarding targets per service and open jobs: for GET /workers and /nodes/status. */
  status() {
    return {
      distributedMode: this.settings.distributedMode,
      workers: this.registry.list(),
      forwarding: Object.fromEntries([...this.forwarders].map(([s, f]) => [s, f.snapshot()])),
      jobs: this.queue.openCounts(),
    };
  }

  /** What a route a worker calls inside a job of `jobType` must check: a live lease of that type, held by the caller. */
  leaseOf(jobType: string): LeaseRequirement {
    return jobLease(jobType, () => this.stateStore);
  }

  /** Whether a live worker has declared it takes jobs of this type. */
  hasWorkerFor(type: string): boolean {
    return this.registry.list().some((w) => w.status === 'up' && w.jobTypes.includes(type));
  }

  countJob(job: JobRecord, event: string): void {
    this.metrics.jobs.inc({ type: job.type, event });
  }
}

function issuesOf(err: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  return err.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}
