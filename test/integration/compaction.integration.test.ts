// Compaction against the real process: many small parts of one day become one
// file, rows and catalog stay exact, and the old files are gone from disk.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { adminHeaders, startPlane } from '../helpers/control-plane-process.js';

test('small parts of a day are merged into one, atomically in the catalog', async () => {
  const plane = await startPlane({
    env: { SERVICES: 'auth-gateway,tenant-node,metadata-catalog', COMPACTION_INTERVAL_MS: '300', COMPACTION_MIN_PARTS: '2', APPLIER_INTERVAL_MS: '20' },
  });
  try {
    const headers = { 'content-type': 'application/json', 'x-tenant-id': 'compact', ...(await adminHeaders(plane)) };
    const partitions = async () => {
      const res = await fetch(plane.url('metadata-catalog', '/metadata/partitions'), { method: 'POST', headers, body: '{}' });
      return ((await res.json()) as { partitions: Array<{ rows: number; file: string }> }).partitions;
    };
    for (let b = 0; b < 6; b++) {
      const rows = Array.from({ length: 10 }, (_, i) => ({ data_id: `b${b}-${i}`, payload: { b, i }, timestamp: `2026-05-05T10:0${b}:0${i % 10}Z` }));
      assert.equal((await fetch(plane.url('tenant-node', '/data'), { method: 'POST', headers, body: JSON.stringify(rows) })).status, 201);
      // Wait until this batch is applied so each request becomes its own part.
      for (let i = 0; i < 100 && (await partitions()).reduce((s, p) => s + p.rows, 0) < (b + 1) * 10; i++) await new Promise((r) => setTimeout(r, 20));
    }
    let parts = await partitions();
    for (let i = 0; i < 100 && parts.length > 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      parts = await partitions();
    }
    assert.equal(parts.length, 1, `one part after compaction, got ${parts.length}`);
    assert.equal(parts[0]!.rows, 60);
    const dir = path.join(plane.dataDir, 'parquet', 'compact', 'events', 'date=2026-05-05');
    // The replaced files are deleted right after the catalog commit (a crash in between leaves orphans that start-up removes).
    const files = () => readdirSync(dir).filter((f) => f.endsWith('.parquet'));
    for (let i = 0; i < 50 && files().length > 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(files(), [path.basename(parts[0]!.file)]);
    const read = await fetch(plane.url('tenant-node', '/data?limit=1000'), { headers });
    assert.equal(((await read.json()) as { records: unknown[] }).records.length, 60);
    const stats = (await (await fetch(plane.url('metadata-catalog', '/metadata/stats'), { headers })).json()) as { rows: number; partitions: number };
    assert.deepEqual([stats.rows, stats.partitions], [60, 1]);
  } finally {
    await plane.cleanup();
  }
});
