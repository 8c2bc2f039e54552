// The acknowledge path's duplicate check on real components (a WAL and a
// LevelDB state store in temp dirs, no applier): the counts in the ack, the
// rows it marks for the applier to check, the pending bounds, and the order
// in which concurrent requests with the same id reach the WAL. The applier
// writes a row ingest found new without looking it up again, so that row must
// be the first of its id in the WAL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import pino from 'pino';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { CommittedIds } from '../../src/ingest/committed-ids.js';
import { IngestLimiter } from '../../src/ingest/ingest-limiter.js';
import { IngestPipeline } from '../../src/ingest/ingest-pipeline.js';
import { IngestMetrics } from '../../src/ingest/metrics.js';
import { PendingRecords } from '../../src/ingest/pending-records.js';
import { TableSchemas } from '../../src/ingest/table-schemas.js';
import { isAppError } from '../../src/platform/errors.js';
import { StateStore } from '../../src/platform/state-store.js';
import { idIndexKey } from '../../src/storage/physical-names.js';
import { WriteAheadLog } from '../../src/storage/wal/index.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let state: StateStore;
let wal: WriteAheadLog;

before(async () => {
  dir = makeTempDir('ingest-dups');
  state = await StateStore.open(`${dir}/state`);
  wal = await WriteAheadLog.open({ dir: `${dir}/wal`, logger: pino({ level: 'silent' }) });
});
after(async () => {
  await wal.close();
  await state.close();
  removeTempDir(dir);
});

function pipeline(bounds: { rows?: number; bytes?: number } = {}, shared: { pending?: PendingRecords; wal?: WriteAheadLog } = {}) {
  const pending = shared.pending ?? new PendingRecords();
  const schemas = new TableSchemas(new CatalogStore(state));
  const ingest = new IngestPipeline({
    wal: () => shared.wal ?? wal,
    state: () => state,
    committedLsns: (keys) => new CatalogStore(state).committedLsns(keys),
    schemas,
    limiter: new IngestLimiter({ rowsPerSecond: 1e9, burstRows: 1e9 }, async () => undefined),
    pending,
    metrics: new IngestMetrics(new Registry()),
    limits: { maxRecords: 10_000, maxDataIdBytes: 512 },
    maxPendingRows: bounds.rows ?? 1e9,
    maxPendingBytes: bounds.bytes ?? 1e12,
  });
  return { ingest, pending };
}

const records = (...ids: string[]) => ids.map((id) => ({ data_id: id, payload: { id } }));

test('duplicates within the request, against pending rows and against the id index are counted and marked', async () => {
  const { ingest, pending } = pipeline();
  await state.writeBatch([{ type: 'put', sublevel: 'dataIds', key: idIndexKey('t1', 'events', 'committed'), value: 1 }], { sync: false });
  const first = await ingest.ingest('t1', records('a', 'b', 'a', 'committed'), {});
  assert.deepEqual([first.accepted, first.duplicates], [4, 2]);
  const second = await ingest.ingest('t1', records('b', 'c'), {});
  assert.deepEqual([second.accepted, second.duplicates], [2, 1]);
  assert.equal((await ingest.ingest('t1', records('a'), { table: 'other' })).duplicates, 0, 'ids are per table');
  assert.equal((await ingest.ingest('t2', records('a'), {})).duplicates, 0, 'and per tenant');
  const entries = pending.contiguousFrom(first.lsn, 100);
  assert.deepEqual(entries.slice(0, 2).map((e) => e.suspects), [[2, 3], [0]]);
  // Evicted (applied) rows are no longer pending: the id index answers for them from then on.
  assert.ok(pending.holds('t1', 'events', 'c'));
  pending.evictThrough(second.lsn);
  assert.ok(!pending.holds('t1', 'events', 'a') && !pending.holds('t1', 'events', 'c'));
  assert.ok(pending.holds('t1', 'other', 'a'), 'later batches keep theirs');
});

test('a request that fails to reach the WAL gives its ids up: the next one calls them new', async () => {
  const { ingest, pending } = pipeline();
  // A WAL whose disk is gone: its append fails as the real one's would.
  const failing = { append: () => Promise.reject(new Error('disk gone')) } as unknown as WriteAheadLog;
  await assert.rejects(pipeline({}, { pending, wal: failing }).ingest.ingest('t6', records('lost'), {}), /disk gone/);
  assert.ok(!pending.holds('t6', 'events', 'lost'));
  assert.equal((await ingest.ingest('t6', records('lost'), {})).duplicates, 0);
});

test('concurrent requests with the same new ids: one calls each new and has it first in the WAL; the others wait and are marked', async () => {
  const { ingest, pending } = pipeline();
  // Requests look their new ids up in the index before appending; one whose ids are all held by another would otherwise append first.
  const sent = [['x', 'y'], ['x'], ['y', 'x'], ['y']];
  const acks = await Promise.all(sent.map((ids) => ingest.ingest('t3', records(...ids), {})));
  assert.equal(
    acks.reduce((n, a) => n + a.duplicates, 0),
    4,
    'x and y are each new once',
  );
  const entries = pending.contiguousFrom(Math.min(...acks.map((a) => a.lsn)), 100);
  assert.equal(entries.length, 4);
  for (const id of ['x', 'y']) {
    const holding = entries.filter((e) => e.batch.rows.some((r) => r.dataId === id));
    const firstNew = holding.filter((e) => e.batch.rows.some((r, i) => r.dataId === id && !e.suspects!.includes(i)));
    assert.equal(firstNew.length, 1, `${id} is called new once`);
    assert.equal(firstNew[0]!.lsn, Math.min(...holding.map((e) => e.lsn)), `the entry that calls ${id} new is its first in the WAL`);
  }
});

test('the pending bounds hold in rows and in bytes of WAL entries: 503 ingest_backpressure with Retry-After', async () => {
  const byBytes = pipeline({ bytes: 600 });
  const big = (p: string) => Array.from({ length: 5 }, (_, i) => ({ data_id: `${p}${i}`, payload: { text: 'x'.repeat(40) } }));
  await byBytes.ingest.ingest('t4', big('a'), {});
  const held = byBytes.pending.bytes;
  assert.ok(held > 300 && held <= 600, `one entry of ${held} bytes`);
  await assert.rejects(byBytes.ingest.ingest('t4', big('b'), {}), (err) => {
    assert.ok(isAppError(err));
    assert.equal(err.code, 'ingest_backpressure');
    assert.equal(err.headers?.['Retry-After'], '5');
    assert.deepEqual(err.details, { pendingRows: 5, pendingBytes: held });
    return true;
  });
  assert.equal(byBytes.pending.bytes, held, 'nothing more was taken');
  const byRows = pipeline({ rows: 6 });
  await byRows.ingest.ingest('t5', records('a', 'b', 'c', 'd', 'e'), {});
  await assert.rejects(byRows.ingest.ingest('t5', records('f', 'g'), {}), /ingest is paused/);
  byRows.pending.evictThrough(Number.MAX_SAFE_INTEGER);
  assert.equal((await byRows.ingest.ingest('t5', records('f', 'g'), {})).accepted, 2, 'accepted again once drained');
});

test('the committed-id filter: never a false "no", few false "maybe"s, "maybe" until loaded, and ingest still finds committed ids through it', async () => {
  const filter = new CommittedIds();
  assert.equal(filter.mightContain(idIndexKey('t7', 'events', 'x')), true, 'not loaded yet: every answer is maybe');
  await state.writeBatch(
    Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, sublevel: 'dataIds' as const, key: idIndexKey('t7', 'events', `old-${i}`), value: 1 })),
    { sync: false },
  );
  await filter.load(new CatalogStore(state).dataIdKeys());
  assert.ok(filter.ready);
  for (let i = 0; i < 5000; i++) assert.ok(filter.mightContain(idIndexKey('t7', 'events', `old-${i}`)), `old-${i}`);
  // What the applier adds after loading counts as well, past the first segment's capacity.
  for (let i = 0; i < 1_200_000; i++) filter.add(idIndexKey('t7', 'events', `new-${i}`));
  for (let i = 0; i < 1_200_000; i += 997) assert.ok(filter.mightContain(idIndexKey('t7', 'events', `new-${i}`)));
  let falsePositives = 0;
  for (let i = 0; i < 100_000; i++) if (filter.mightContain(idIndexKey('t7', 'events', `absent-${i}`))) falsePositives++;
  assert.ok(falsePositives < 3000, `false positives ${falsePositives} of 100,000`);

  const pending = new PendingRecords();
  const ingest = new IngestPipeline({
    wal: () => wal,
    state: () => state,
    committedLsns: (keys) => new CatalogStore(state).committedLsns(keys),
    schemas: new TableSchemas(new CatalogStore(state)),
    limiter: new IngestLimiter({ rowsPerSecond: 1e9, burstRows: 1e9 }, async () => undefined),
    pending,
    committedIds: filter,
    metrics: new IngestMetrics(new Registry()),
    limits: { maxRecords: 10_000, maxDataIdBytes: 512 },
    maxPendingRows: 1e9,
    maxPendingBytes: 1e12,
  });
  const ack = await ingest.ingest('t7', records('old-3', 'brand-new', 'old-4999'), {});
  assert.equal(ack.duplicates, 2);
});
