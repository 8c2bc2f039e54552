// The job-type registry: every type declares payload, result, lease defaults
// and a result handler; enqueueing an unknown type or a bad payload is a 400
// that queues nothing; a result that does not fit is a 400 that leaves the
// job leased; a fitting column-stats result lands in the catalog.
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/platform/config/load-config.js';
import { AppError } from '../../src/platform/errors.js';
import { StateStore } from '../../src/platform/state-store.js';
import { JOB_TYPES, JOB_TYPE_NAMES, jobTypeOf } from '../../src/workers/job-types.js';
import { WorkersRuntime } from '../../src/workers/worker-runtime.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let store: StateStore;
let runtime: WorkersRuntime;
const settings = parseConfig({ JOB_LEASE_MS: '7000', JOB_MAX_ATTEMPTS: '9' }).workers;

before(async () => {
  dir = makeTempDir('job-types');
  store = await StateStore.open(dir);
  runtime = new WorkersRuntime(settings, store, new CatalogStore(store), new Registry(), pino({ level: 'silent' }));
  await runtime.start();
});
after(async () => {
  await runtime.stop();
  await store.close();
  removeTempDir(dir);
});

const refusal = async (p: Promise<unknown>): Promise<AppError> => {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
};

test('every registered type declares what the registry promises', () => {
  assert.deepEqual(JOB_TYPE_NAMES.sort(), ['column-stats', 'retention-sweep']);
  for (const name of JOB_TYPE_NAMES) {
    const def = jobTypeOf(name);
    assert.ok(def.summary.length > 10, name);
    assert.equal(typeof def.payload.safeParse, 'function', `${name} payload schema`);
    assert.equal(typeof def.result.safeParse, 'function', `${name} result schema`);
    assert.equal(typeof def.onResult, 'function', `${name} result handler`);
    assert.ok(def.lease && typeof def.lease === 'object', `${name} lease defaults`);
  }
  assert.equal(JOB_TYPES['column-stats'].readsSample, true);
  assert.notEqual(jobTypeOf('retention-sweep').readsSample, true, 'only column-stats jobs may read tenant rows');
});

test('an unknown type or a bad payload is a 400 and nothing is queued', async () => {
  const unknown = await refusal(runtime.enqueue('compact-everything', { tenant: 'acme' }));
  assert.equal(unknown.status, 400);
  assert.equal(unknown.code, 'validation_failed');
  assert.deepEqual(unknown.details, { field: 'type', known: JOB_TYPE_NAMES });
  for (const [type, payload, message] of [
    ['column-stats', {}, /^payload of a column-stats job: tenant: /],
    ['column-stats', { tenant: 'ACME!' }, /tenant: must match/],
    ['column-stats', { tenant: 'acme', sampleRows: 10_000_000 }, /sampleRows/],
    ['column-stats', { tenant: 'acme', extra: 1 }, /Unrecognized key/],
    ['retention-sweep', { tenant: 'acme' }, /give exactly one of ttlSeconds or before/],
    ['retention-sweep', { tenant: 'acme', ttlSeconds: 60, before: 1 }, /give exactly one/],
  ] as const) {
    const err = await refusal(runtime.enqueue(type, payload));
    assert.equal(err.status, 400, `${type} ${JSON.stringify(payload)}`);
    assert.match(err.message, message);
  }
  assert.deepEqual(await runtime.queue.list({ limit: 100 }), [], 'nothing was queued');
});

test('lease defaults come from the job type, then from the settings; a caller may name its own', async () => {
  const stats = await runtime.enqueue('column-stats', { tenant: 'acme' });
  assert.equal(stats.maxAttempts, JOB_TYPES['column-stats'].lease.maxAttempts);
  assert.deepEqual(stats.payload, { tenant: 'acme', table: 'events', sampleRows: 1000 }, 'defaults filled in at enqueue');
  const sweep = await runtime.enqueue('retention-sweep', { tenant: 'acme', before: 0 });
  assert.equal(sweep.maxAttempts, 9, 'JOB_MAX_ATTEMPTS');
  const t0 = Date.now();
  const leasedStats = (await runtime.queue.lease('w1', ['column-stats']))!;
  assert.ok(Math.abs(leasedStats.lease!.expiresAt - t0 - JOB_TYPES['column-stats'].lease.leaseMs!) < 1000);
  const leasedSweep = (await runtime.queue.lease('w1', ['retention-sweep']))!;
  assert.ok(Math.abs(leasedSweep.lease!.expiresAt - t0 - 7000) < 1000, 'JOB_LEASE_MS');
  const renewed = await runtime.queue.renew(leasedSweep.id, leasedSweep.lease!.id, 120_000);
  assert.ok(renewed.lease!.expiresAt - Date.now() > 100_000);
  await runtime.queue.fail(leasedSweep.id, leasedSweep.lease!.id, 'not this time', false);

  // A result that does not fit its type's schema: 400, the job stays leased to its worker.
  const misfit = await refusal(runtime.queue.complete(leasedStats.id, leasedStats.lease!.id, { columns: { a: { distinct: -1, nullFraction: 2 } }, sampledRows: 3 }));
  assert.equal(misfit.status, 400);
  assert.match(misfit.message, /^column-stats result: /);
  assert.equal((await runtime.queue.get(leasedStats.id))!.status, 'leased');
  const shape = await refusal(
    runtime.queue.complete(leasedStats.id, leasedStats.lease!.id, {
      columns: { a: { distinct: 2, nullFraction: 0.5, mcv: [{ value: 'x', frequency: 0.9 }] } },
      sampledRows: 3,
    }),
  );
  assert.match(shape.message, /add up to more than all rows/);

  // A fitting one is stored for the optimizer.
  const result = {
    columns: { country: { kind: 'string', distinct: 2, distinctEstimate: 2, nullFraction: 0, min: 'DE', max: 'NL', mcv: [{ value: 'NL', frequency: 0.75 }, { value: 'DE', frequency: 0.25 }] } },
    sampledRows: 4,
    tableRows: 4,
  };
  const done = await runtime.queue.complete(leasedStats.id, leasedStats.lease!.id, result);
  assert.equal(done.job.status, 'completed');
  const stored = await runtime.columnStats.read('acme', 'events');
  assert.deepEqual({ ...stored, at: 0 }, { ...result, at: 0 });
});
