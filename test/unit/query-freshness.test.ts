// Read-after-write for queries: the gate waits until the applier has applied
// what was acknowledged for the tables a query reads, within its bound; the
// per-table acknowledged LSNs it reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcknowledgedLsns } from '../../src/ingest/acknowledged-lsns.js';
import { AppError, Errors } from '../../src/platform/errors.js';
import { FreshnessGate, freshnessHeader, type AppliedLsnSource } from '../../src/query/freshness.js';

/** An applier stand-in: `apply(lsn)` moves the checkpoint, waiters resolve as the real one's do. */
function applierAt(applied: number, acked: AcknowledgedLsns) {
  const waiters: Array<{ lsn: number; resolve: () => void }> = [];
  const source: AppliedLsnSource & { apply(lsn: number): void; waiting(): number } = {
    acknowledgedLsn: (tenant, table) => acked.lastFor(tenant, table),
    appliedLsn: () => applied,
    lag: () => ({ records: 7, seconds: 3.2 }),
    waitForApplied: (lsn, signal) =>
      lsn <= applied
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const w = { lsn, resolve };
            waiters.push(w);
            signal.addEventListener('abort', () => {
              waiters.splice(waiters.indexOf(w), 1);
              reject(signal.reason);
            });
          }),
    apply(lsn) {
      applied = lsn;
      for (const w of [...waiters]) {
        if (w.lsn > lsn) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    waiting: () => waiters.length,
  };
  return source;
}

test('acknowledged LSNs are kept per (tenant, table), the highest wins', () => {
  const acked = new AcknowledgedLsns();
  acked.record('acme', [{ table: 'events' }, { table: 'events' }, { table: 'clicks' }, { table: 'events' }], 5);
  acked.record('acme', [{ table: 'clicks' }], 9);
  acked.record('acme', [{ table: 'events' }], 3); // an append that completed out of order
  acked.record('globex', [{ table: 'events' }], 11);
  assert.equal(acked.lastFor('acme', 'events'), 5);
  assert.equal(acked.lastFor('acme', 'clicks'), 9);
  assert.equal(acked.lastFor('globex', 'events'), 11);
  assert.equal(acked.lastFor('acme', 'users'), 0, 'never written since start');
});

test('no wait when what the tables need is applied; the answer says how fresh it is', async () => {
  const acked = new AcknowledgedLsns();
  acked.record('acme', [{ table: 'events' }], 4);
  acked.record('globex', [{ table: 'events' }], 40); // another tenant's backlog does not count
  const gate = new FreshnessGate({ source: applierAt(10, acked), maxWaitMs: 1000 });
  const f = await gate.await('acme', ['events', 'users'], 'read-after-write', new AbortController().signal, 30_000);
  assert.deepEqual(f, { appliedLsn: 10, requiredLsn: 4, waitedMs: 0 });
  assert.equal(freshnessHeader(f), 'appliedLsn=10, requiredLsn=4, waitedMs=0');
});

test('a query waits for the highest LSN acknowledged for any table it reads, and goes on when it is applied', async () => {
  const acked = new AcknowledgedLsns();
  acked.record('acme', [{ table: 'events' }], 12);
  acked.record('acme', [{ table: 'users' }], 15);
  const source = applierAt(10, acked);
  const waits: string[] = [];
  const gate = new FreshnessGate({ source, maxWaitMs: 5000, onWait: (_s, outcome) => waits.push(outcome) });
  const pending = gate.await('acme', ['events', 'users'], 'read-after-write', new AbortController().signal, 30_000);
  await new Promise((r) => setTimeout(r, 20));
  source.apply(12);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(source.waiting(), 1, 'LSN 12 is not enough: users needs 15');
  source.apply(15);
  const f = await pending;
  assert.equal(f.requiredLsn, 15);
  assert.equal(f.appliedLsn, 15);
  assert.ok(f.waitedMs >= 30, `waited ${f.waitedMs} ms`);
  assert.deepEqual(waits, ['fresh']);
});

test('past QUERY_FRESHNESS_WAIT_MS (or the query timeout, if shorter): 503 not_fresh with Retry-After and the lag, not a server fault', async () => {
  const acked = new AcknowledgedLsns();
  acked.record('acme', [{ table: 'events' }], 20);
  for (const [maxWaitMs, budgetMs] of [[40, 30_000], [30_000, 40]] as const) {
    const source = applierAt(10, acked);
    const gate = new FreshnessGate({ source, maxWaitMs });
    const t0 = performance.now();
    const err = await gate.await('acme', ['events'], 'read-after-write', new AbortController().signal, budgetMs).then(
      () => assert.fail('must not resolve'),
      (e: unknown) => e,
    );
    const took = performance.now() - t0;
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'not_fresh');
    assert.equal(err.status, 503);
    assert.equal(err.serverFault, false);
    assert.equal(err.headers?.['Retry-After'], '4');
    assert.match(err.message, /through LSN 20.*applied through LSN 10 \(7 records, 3\.2 s behind\)/);
    assert.deepEqual({ ...err.details, waitedMs: 0 }, { requiredLsn: 20, appliedLsn: 10, waitedMs: 0, lagRecords: 7, lagSeconds: 3.2 });
    assert.ok(took >= 35 && took < 2000, `bounded: ${took} ms`);
    assert.equal(source.waiting(), 0, 'the waiter is gone');
  }
});

test('"eventual" never waits; a cancelled query stops waiting with its own reason', async () => {
  const acked = new AcknowledgedLsns();
  acked.record('acme', [{ table: 'events' }], 20);
  const source = applierAt(10, acked);
  const gate = new FreshnessGate({ source, maxWaitMs: 30_000 });
  assert.deepEqual(await gate.await('acme', ['events'], 'eventual', new AbortController().signal, 30_000), { appliedLsn: 10, requiredLsn: 20, waitedMs: 0 });
  const ac = new AbortController();
  const pending = gate.await('acme', ['events'], 'read-after-write', ac.signal, 30_000);
  ac.abort(Errors.queryCancelled('q1'));
  await assert.rejects(pending, (e: AppError) => e.code === 'query_cancelled');
  assert.equal(source.waiting(), 0);
});

test('a query timeout during the wait is reported as not_fresh (the query never ran)', async () => {
  const acked = new AcknowledgedLsns();
  acked.record('acme', [{ table: 'events' }], 20);
  const gate = new FreshnessGate({ source: applierAt(10, acked), maxWaitMs: 30_000 });
  const ac = new AbortController();
  const pending = gate.await('acme', ['events'], 'read-after-write', ac.signal, 30_000);
  ac.abort(Errors.queryTimeout('q1', 50));
  await assert.rejects(pending, (e: AppError) => e.code === 'not_fresh');
});
