// Per-tenant ingest limits: rows/s and burst as token buckets, defaults from
// config, overrides from the tenant's entry in the state store (cached, so the
// hot path does no I/O).
import { Errors } from '../platform/errors.js';
import type { StateStore } from '../platform/state-store.js';
import { TokenBucket } from './token-bucket.js';

export interface TenantLimits {
  ingestRowsPerSecond?: number;
  ingestBurstRows?: number;
}

const OVERRIDE_TTL_MS = 5_000;

export class IngestLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly overrides = new Map<string, { limits: TenantLimits; at: number }>();

  constructor(
    private readonly defaults: { rowsPerSecond: number; burstRows: number },
    private readonly state: () => StateStore,
  ) {}

  private async limitsFor(tenant: string): Promise<{ rate: number; burst: number }> {
    let cached = this.overrides.get(tenant);
    if (!cached || Date.now() - cached.at > OVERRIDE_TTL_MS) {
      const entry = (await this.state().sublevel<{ limits?: TenantLimits }>('tenants').get(tenant)) ?? {};
      cached = { limits: entry.limits ?? {}, at: Date.now() };
      this.overrides.set(tenant, cached);
    }
    return {
      rate: cached.limits.ingestRowsPerSecond ?? this.defaults.rowsPerSecond,
      burst: cached.limits.ingestBurstRows ?? this.defaults.burstRows,
    };
  }

  /** Takes `rows` tokens or throws 429 with Retry-After; nothing is written either way. */
  async admit(tenant: string, rows: number): Promise<void> {
    const { rate, burst } = await this.limitsFor(tenant);
    let bucket = this.buckets.get(tenant);
    if (!bucket) {
      bucket = new TokenBucket(rate, burst);
      this.buckets.set(tenant, bucket);
    } else {
      bucket.reconfigure(rate, burst);
    }
    if (rows > bucket.capacity) {
      throw Errors.validation(`request has ${rows} rows, more than tenant ${tenant}'s burst of ${bucket.capacity}; split it`, {
        limit: bucket.capacity,
      });
    }
    const wait = bucket.take(rows);
    if (wait > 0) throw Errors.rateLimited(`tenant ${tenant} is over its ingest limit of ${rate} rows/s`, wait);
  }

  /** Drop cached overrides (after an admin changed a tenant's limits). */
  invalidate(tenant: string): void {
    this.overrides.delete(tenant);
  }
}
