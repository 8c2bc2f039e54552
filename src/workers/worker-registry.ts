// Workers that called in: what they serve (service, routes, job types),
// capacity and version, and when they last sent a heartbeat. Memory is the
// truth while the process runs; the `workers` sublevel keeps the list across a
// restart (a worker whose heartbeat is older than the TTL comes back expired).
import { randomBytes } from 'node:crypto';
import type { ServiceId } from '../platform/config/schema.js';
import type { JsonSublevel, StateAccess } from '../platform/state-store.js';

export interface WorkerRoute {
  method: string;
  path: string;
}

export interface WorkerRegistration {
  id?: string;
  service: ServiceId;
  url: string;
  routes: WorkerRoute[];
  jobTypes: string[];
  capacity: number;
  version: string;
}

export interface WorkerRecord {
  id: string;
  service: ServiceId;
  url: string;
  routes: WorkerRoute[];
  jobTypes: string[];
  capacity: number;
  version: string;
  /** Credential subject that registered it: only it (or an admin) may heartbeat or remove it. */
  owner: string;
  /** Sent by the control plane on forwarded calls so the worker can tell them from anyone else's. */
  forwardToken: string;
  registeredAt: number;
  lastHeartbeatAt: number;
  status: 'up' | 'expired';
  inFlightJobs?: number;
}

/** What status pages show: never the forward token. */
export type PublicWorker = Omit<WorkerRecord, 'forwardToken'> & { heartbeatAgeMs: number };

const KEEP_EXPIRED_MS = 10 * 60_000;

export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly state: () => StateAccess,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private get db(): JsonSublevel<WorkerRecord> {
    return this.state().sublevel<WorkerRecord>('workers');
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  async load(): Promise<void> {
    const now = this.now();
    for await (const [, w] of this.db.iterator()) {
      if (now - w.lastHeartbeatAt > this.ttlMs) w.status = 'expired';
      if (now - w.lastHeartbeatAt > KEEP_EXPIRED_MS) {
        await this.db.del(w.id);
        continue;
      }
      this.workers.set(w.id, w);
    }
    this.changed();
  }

  /** Registers (or re-registers, same id) a worker; returns its record. */
  async register(reg: WorkerRegistration, owner: string): Promise<WorkerRecord> {
    const now = this.now();
    const id = reg.id ?? `w-${randomBytes(6).toString('hex')}`;
    const prev = this.workers.get(id);
    const record: WorkerRecord = {
      id,
      service: reg.service,
      url: reg.url.replace(/\/+$/, ''),
      routes: reg.routes,
      jobTypes: reg.jobTypes,
      capacity: reg.capacity,
      version: reg.version,
      owner,
      // A restarted worker gets a fresh token: an old process can no longer be told apart otherwise.
      forwardToken: randomBytes(24).toString('base64url'),
      registeredAt: prev && prev.status === 'up' ? prev.registeredAt : now,
      lastHeartbeatAt: now,
      status: 'up',
    };
    // Another id of the same service at the same URL is a previous life of this worker.
    for (const other of this.workers.values()) {
      if (other.id !== id && other.url === record.url && other.service === record.service) {
        this.workers.delete(other.id);
        await this.db.del(other.id);
      }
    }
    this.workers.set(id, record);
    await this.db.put(id, record);
    this.changed();
    return record;
  }

  get(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  async heartbeat(id: string, inFlightJobs?: number): Promise<WorkerRecord | undefined> {
    const w = this.workers.get(id);
    if (!w || w.status !== 'up') return undefined;
    w.lastHeartbeatAt = this.now();
    if (inFlightJobs !== undefined) w.inFlightJobs = inFlightJobs;
    await this.db.put(id, w);
    return w;
  }

  async remove(id: string): Promise<boolean> {
    const had = this.workers.delete(id);
    if (had) {
      await this.db.del(id);
      this.changed();
    }
    return had;
  }

  /** Marks workers without a recent heartbeat expired; forgets long-expired ones. Returns the newly expired. */
  async expire(): Promise<WorkerRecord[]> {
    const now = this.now();
    const expired: WorkerRecord[] = [];
    for (const w of [...this.workers.values()]) {
      const age = now - w.lastHeartbeatAt;
      if (w.status === 'up' && age > this.ttlMs) {
        w.status = 'expired';
        expired.push(w);
        await this.db.put(w.id, w);
      } else if (w.status === 'expired' && age > KEEP_EXPIRED_MS) {
        this.workers.delete(w.id);
        await this.db.del(w.id);
      }
    }
    if (expired.length > 0) this.changed();
    return expired;
  }

  /** Live workers, optionally of one service. */
  live(service?: ServiceId): WorkerRecord[] {
    return [...this.workers.values()].filter((w) => w.status === 'up' && (service === undefined || w.service === service));
  }

  list(): PublicWorker[] {
    const now = this.now();
    return [...this.workers.values()].map(({ forwardToken: _t, ...w }) => ({ ...w, heartbeatAgeMs: now - w.lastHeartbeatAt }));
  }
}
