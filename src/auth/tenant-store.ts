// Tenants in the `tenants` sublevel, keyed by tenant id. `limits` keeps the
// shape the ingest limiter reads. The auth guard asks "does this tenant exist
// and is it enabled" on every tenant-scoped request, so answers are cached for
// a few seconds and dropped at once when this process changes a tenant.
import type { StateAccess } from '../platform/state-store.js';

export interface TenantLimitsEntry {
  ingestRowsPerSecond?: number;
  ingestBurstRows?: number;
}

export interface TenantRecord {
  id: string;
  name?: string;
  limits?: TenantLimitsEntry;
  /** Data older than this many days is dropped from both sinks by the retention scheduler; absent = keep forever. */
  retentionDays?: number;
  disabled?: boolean;
  createdAt: number;
  updatedAt: number;
}

const TTL_MS = 5_000;

export class TenantStore {
  private readonly cache = new Map<string, { tenant: TenantRecord | null; at: number }>();

  constructor(private readonly state: () => StateAccess) {}

  private get db() {
    return this.state().sublevel<TenantRecord>('tenants');
  }

  async get(id: string): Promise<TenantRecord | null> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.tenant;
    const tenant = (await this.db.get(id)) ?? null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { tenant, at: Date.now() });
    return tenant;
  }

  async list(): Promise<TenantRecord[]> {
    const out: TenantRecord[] = [];
    for await (const t of this.db.values()) out.push(t);
    return out;
  }

  async put(tenant: TenantRecord): Promise<void> {
    await this.db.put(tenant.id, tenant);
    this.cache.delete(tenant.id);
  }

  /** Forgets a tenant (the last step of deleting it). */
  async delete(id: string): Promise<void> {
    await this.state().writeBatch([{ type: 'del', sublevel: 'tenants', key: id }], { sync: true });
    this.cache.delete(id);
  }
}
