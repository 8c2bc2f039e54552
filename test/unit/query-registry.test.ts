// The query registry's per-tenant limit of concurrent queries: counted over
// the queries still running, whatever the finished ones kept for
// /query/status, and freed when a query finishes, fails, is cancelled or
// times out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/platform/errors.js';
import { QueryRegistry } from '../../src/query/query-registry.js';

const meta = { timeoutMs: 60_000, via: 'test', format: 'json' };

test('a tenant over its concurrent-query limit gets 429; other tenants and freed slots are unaffected', () => {
  const registry = new QueryRegistry({ maxConcurrentPerTenant: 2 });
  // Many finished queries kept for /query/status do not count.
  for (let i = 0; i < 1500; i++) registry.start('acme', meta).finish();
  const a = registry.start('acme', meta);
  const b = registry.start('acme', meta);
  assert.throws(
    () => registry.start('acme', meta),
    (err: unknown) => err instanceof AppError && err.status === 429 && /already runs 2 queries/.test(err.message),
  );
  registry.start('other', meta).finish();
  a.finish();
  const c = registry.start('acme', meta);
  assert.throws(() => registry.start('acme', meta), (err: unknown) => err instanceof AppError && err.status === 429);
  registry.cancel(c.id, 'acme');
  // Cancelled but not yet settled by its reader: no longer running, so its slot is free.
  const d = registry.start('acme', meta);
  c.fail(new Error('stopped'));
  b.fail(new Error('engine failed'));
  d.finish();
  assert.equal(registry.list({ tenant: 'acme', state: 'running' }).length, 0);
  registry.start('acme', meta);
  registry.start('acme', meta);
  registry.abortAll();
  assert.equal(registry.list({ state: 'running' }).length, 0, 'shutdown cancels what still runs');
});
