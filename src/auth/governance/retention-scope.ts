// What a worker's retention sweep may drop. A service credential sweeps only
// what the tenant's own setting asks for: the tenant must have retentionDays,
// the cutoff may not reach into the days that setting keeps, and it must be
// the sweep its leased job names (table, cutoff). An admin is bounded only by
// the clock (no cutoff in the future), and by approval where configured.
import type { TenantRecord } from '../tenant-store.js';
import { Errors } from '../../platform/errors.js';

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** 400 for a cutoff in the future: "drop everything up to tomorrow" is never what anyone meant. */
export function assertCutoffNotInFuture(beforeMs: number, now = Date.now()): void {
  if (beforeMs > now) throw Errors.validation(`before ${new Date(beforeMs).toISOString()} is in the future`, { field: 'before' });
}

/** The latest cutoff a tenant's retention allows: days before it are older than retentionDays. */
export function deepestCutoff(retentionDays: number, now = Date.now()): string {
  return utcDay(now - retentionDays * DAY_MS);
}

/**
 * 403 unless a worker holding `job` may sweep `tenant` with this cutoff and
 * table: the tenant asks for retention, the cutoff day is no later than its
 * retention allows, and the table and cutoff are the job's.
 */
export function assertServiceSweep(
  input: { tenantId: string; tenant: TenantRecord | null; beforeMs: number; table?: string; job: Record<string, unknown> },
  now = Date.now(),
): void {
  const { tenantId, tenant, beforeMs, table, job } = input;
  if (!tenant) throw Errors.forbidden(`tenant ${tenantId} does not exist`);
  if (!tenant.retentionDays) throw Errors.forbidden(`tenant ${tenantId} has no retentionDays: a worker may not sweep it`);
  const cutoff = utcDay(beforeMs);
  const deepest = deepestCutoff(tenant.retentionDays, now);
  if (cutoff > deepest) {
    throw Errors.forbidden(`cutoff ${cutoff} would drop days that tenant ${tenantId} keeps (retentionDays ${tenant.retentionDays}: the latest cutoff is ${deepest})`);
  }
  if (typeof job.table === 'string' && table !== job.table) throw Errors.forbidden(`the job sweeps table ${job.table}, not ${table ?? 'every table'}`);
  if (job.before !== undefined) {
    const named = typeof job.before === 'number' ? job.before : Date.parse(String(job.before));
    if (!Number.isFinite(named) || utcDay(named) !== cutoff) throw Errors.forbidden(`the job names cutoff ${Number.isFinite(named) ? utcDay(named) : String(job.before)}, not ${cutoff}`);
  }
}
