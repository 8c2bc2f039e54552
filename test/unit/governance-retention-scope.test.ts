import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCutoffNotInFuture, assertServiceSweep, deepestCutoff } from '../../src/auth/governance/retention-scope.js';
import type { TenantRecord } from '../../src/auth/tenant-store.js';
import { AppError } from '../../src/platform/errors.js';

const NOW = Date.parse('2026-06-15T10:00:00Z');
const DAY = 86_400_000;
const tenant = (retentionDays?: number): TenantRecord => ({ id: 'acme', createdAt: 0, updatedAt: 0, ...(retentionDays ? { retentionDays } : {}) });

function statusOf(fn: () => void): number {
  try {
    fn();
    return 200;
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err.status;
  }
}

test('a cutoff in the future is a 400 for everyone', () => {
  assert.equal(statusOf(() => assertCutoffNotInFuture(NOW + 1000, NOW)), 400);
  assert.equal(statusOf(() => assertCutoffNotInFuture(NOW, NOW)), 200);
});

test('a worker sweeps only a tenant with retention, no deeper than the setting, as its job names it', () => {
  assert.equal(deepestCutoff(30, NOW), '2026-05-16');
  const ok = { tenantId: 'acme', tenant: tenant(30), beforeMs: NOW - 30 * DAY, job: { tenant: 'acme', before: NOW - 30 * DAY } };
  assert.equal(statusOf(() => assertServiceSweep(ok, NOW)), 200);
  // An older cutoff named by the job (it waited in the queue) drops less: fine.
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, beforeMs: NOW - 40 * DAY, job: { tenant: 'acme', before: NOW - 40 * DAY } }, NOW)), 200);
  // A ttlSeconds job: the worker computes the cutoff; the setting still bounds it.
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, job: { tenant: 'acme', ttlSeconds: 30 * 86_400 } }, NOW)), 200);
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, beforeMs: NOW - 29 * DAY, job: { tenant: 'acme', ttlSeconds: 29 * 86_400 } }, NOW)), 403, 'deeper than the setting');
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, tenant: tenant(undefined) }, NOW)), 403, 'no retentionDays');
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, tenant: null }, NOW)), 403, 'no such tenant');
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, beforeMs: NOW - 31 * DAY }, NOW)), 403, 'not the cutoff the job names');
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, table: 'events', job: { ...ok.job, table: 'clicks' } }, NOW)), 403, 'another table');
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, job: { ...ok.job, table: 'clicks' } }, NOW)), 403, 'every table when the job names one');
  assert.equal(statusOf(() => assertServiceSweep({ ...ok, table: 'clicks', job: { ...ok.job, table: 'clicks' } }, NOW)), 200);
});
