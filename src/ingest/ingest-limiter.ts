// Per-tenant ingest limits: rows/s and burst as token buckets, defaults from
// config, overrides from the tenant's record (read through the tenant store,
// which caches it and forgets it when an admin changes the tenant).
import { Errors } from '../platform/errors.js';
import { TokenBucket } from './token-bucket.js';

export interface TenantLimits {
  ingestRowsPerSecond?: number;
  ingestBurstRows?: number;
}

export class IngestLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly defaults: { rowsPerSecond: number; burstRows: number },
    private readonly overridesOf: (tenant: string) => Promise<TenantLimits | undefined>,
  ) {}

  /** Takes `rows` tokens or throws 429 with Retry-After; nothing is written either way. */
  async admit(tenant: string, rows: number): Promise<void> {
    const overrides = (await this.overridesOf(tenant)) ?? {};
    const rate = overrides.ingestRowsPerSecond ?? this.defaults.rowsPerSecond;
    const burst = overrides.ingestBurstRows ?? this.defaults.burstRows;
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
}
