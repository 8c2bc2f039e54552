import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PendingRecords } from '../../src/ingest/pending-records.js';

const row = (dataId: string) => ({ table: 'events', dataId, tsMs: 0, payload: {} });
const payload = new Uint8Array();

test('forgetting a deleted tenant drops its rows up to an LSN and keeps the LSN run contiguous', () => {
  const p = new PendingRecords();
  p.add(1, { tenant: 'gone', rows: [row('a'), row('b')] }, payload);
  p.add(2, { tenant: 'kept', rows: [row('a')] }, payload);
  p.add(3, { tenant: 'gone', rows: [row('c')] }, payload);
  p.add(4, { tenant: 'gone', rows: [row('d')] }, payload);
  assert.equal(p.forgetTenant('gone', 3), 3);
  assert.equal(p.rows, 2);
  assert.equal(p.countFor('gone'), 1, 'rows after the LSN stay');
  assert.deepEqual(p.find('gone', 'events', () => true).map((r) => r.dataId), ['d']);
  assert.deepEqual(p.find('kept', 'events', () => true).map((r) => r.dataId), ['a']);
  // The applier still reads LSNs 1..4 in one run; the forgotten ones carry no rows.
  assert.deepEqual(p.contiguousFrom(1, 100).map((b) => [b.lsn, b.batch.rows.length]), [[1, 0], [2, 1], [3, 0], [4, 1]]);
  assert.equal(p.forgetTenant('gone', 3), 0, 'forgetting twice drops nothing more');
  p.evictThrough(4);
  assert.equal(p.rows, 0);
});
