import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/platform/errors.js';
import { isValidTenantId } from '../../src/platform/http/tenant-id.js';
import { parseNdjson, validateRecords } from '../../src/ingest/record-validator.js';
import { TokenBucket } from '../../src/ingest/token-bucket.js';
import { PendingRecords } from '../../src/ingest/pending-records.js';
import { decodeBatch, encodeBatch, type IngestBatch } from '../../src/ingest/wal-entry.js';

const limits = { maxRecords: 10, maxDataIdBytes: 16 };

function rejection(fn: () => unknown): { message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    assert.ok(isAppError(err), `expected an AppError, got ${String(err)}`);
    assert.equal(err.status, 400);
    return { message: err.message, details: err.details };
  }
  assert.fail('expected a rejection');
}

test('tenant ids: only ^[a-z0-9][a-z0-9_-]{0,62}$', () => {
  for (const ok of ['acme', 'a', '0', 'a-b_c', 'x'.repeat(63)]) assert.ok(isValidTenantId(ok), ok);
  for (const bad of ['', '../x', 'A B', 'Acme', '-x', '_x', 'x'.repeat(64), 'café', 'a/b', 'a\u0000', ' acme', 'ａ', undefined, 7]) {
    assert.ok(!isValidTenantId(bad), JSON.stringify(bad));
  }
});

test('a bad record rejects the whole request, naming its index and field', () => {
  const good = { data_id: 'a', payload: {} };
  const cases: Array<[unknown, number, string]> = [
    [{ payload: {} }, 1, 'data_id'],
    [{ data_id: '', payload: {} }, 1, 'data_id'],
    [{ data_id: 5, payload: {} }, 1, 'data_id'],
    [{ data_id: 'x'.repeat(17), payload: {} }, 1, 'data_id'],
    [{ data_id: 'a\nb', payload: {} }, 1, 'data_id'],
    [{ data_id: 'b', payload: [] }, 1, 'payload'],
    [{ data_id: 'b' }, 1, 'payload'],
    [{ data_id: 'b', payload: {}, timestamp: 'yesterday' }, 1, 'timestamp'],
    [{ data_id: 'b', payload: {}, timestamp: 1e20 }, 1, 'timestamp'],
    [{ data_id: 'b', payload: {}, table: 'Bad Table' }, 1, 'table'],
    [{ data_id: 'b', payload: {}, extra: 1 }, 1, 'extra'],
    ['not an object', 1, 'record'],
  ];
  for (const [bad, index, field] of cases) {
    const r = rejection(() => validateRecords([good, bad], 'events', limits));
    assert.equal(r.details?.index, index, JSON.stringify(bad));
    assert.equal(r.details?.field, field, JSON.stringify(bad));
    assert.match(r.message, new RegExp(`record ${index}: ${field}`));
  }
});

test('limits on record count and empty requests', () => {
  assert.match(rejection(() => validateRecords([], 'events', limits)).message, /no records/);
  const many = Array.from({ length: 11 }, (_, i) => ({ data_id: `i${i}`, payload: {} }));
  assert.match(rejection(() => validateRecords(many, 'events', limits)).message, /too many records/);
});

test('timestamps: epoch ms, ISO-8601, default now; table default and per record', () => {
  const rows = validateRecords(
    [
      { data_id: 'a', payload: {}, timestamp: 1_700_000_000_000 },
      { data_id: 'b', payload: {}, timestamp: '2026-11-20T10:00:00Z', table: 'clicks' },
      { data_id: 'c', payload: {} },
    ],
    'events',
    limits,
    42_000,
  );
  assert.deepEqual(rows.map((r) => [r.tsMs, r.table]), [[1_700_000_000_000, 'events'], [Date.parse('2026-11-20T10:00:00Z'), 'clicks'], [42_000, 'events']]);
});

test('NDJSON: blank lines ignored, a bad line named', () => {
  assert.equal(parseNdjson('{"a":1}\n\n{"b":2}\n').length, 2);
  assert.throws(() => parseNdjson('{"a":1}\n{oops}\n'), /line 2/);
});

test('token bucket: burst, refill, and the wait it reports', () => {
  const b = new TokenBucket(10, 20, 0);
  assert.equal(b.take(20, 0), 0);
  assert.ok(Math.abs(b.take(5, 0) - 0.5) < 1e-9, 'needs 0.5 s for 5 tokens at 10/s');
  assert.equal(b.take(5, 500), 0);
  assert.ok(b.take(1, 500) > 0);
});

test('WAL entry encoding round-trips unicode and nested payloads', () => {
  const batch = { tenant: 't', rows: [{ table: 'events', dataId: 'ü-\u0000-"x"', tsMs: 1, payload: { a: [1, { b: 'ß' }], s: '\\' } }] };
  assert.deepEqual(decodeBatch(encodeBatch(batch)), batch);
});

const addBatch = (p: PendingRecords, lsn: number, batch: IngestBatch) => p.add(lsn, batch, encodeBatch(batch));

test('pending records: first occurrence wins, eviction by LSN, per-tenant counts', () => {
  const p = new PendingRecords();
  addBatch(p, 2, { tenant: 't', rows: [{ table: 'e', dataId: 'x', tsMs: 1, payload: { v: 2 } }] });
  addBatch(p, 1, { tenant: 't', rows: [{ table: 'e', dataId: 'x', tsMs: 1, payload: { v: 1 } }] });
  addBatch(p, 3, { tenant: 'u', rows: [{ table: 'e', dataId: 'y', tsMs: 1, payload: {} }] });
  const found = p.find('t', 'e', () => true);
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.payload, { v: 1 });
  assert.equal(p.countFor('t'), 2);
  p.evictThrough(2);
  assert.equal(p.rows, 1);
  assert.equal(p.oldestLsn, 3);
});
