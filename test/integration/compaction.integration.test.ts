// Compaction against the real process, with the embedded engine (ClickHouse
// merges the files) and with a ClickHouse server (a streaming parquetjs
// merge): many small parts of a day become one file, rows and catalog stay
// exact, the old files are gone from disk, and the merged file holds every
// row once, in LSN order, with the columns the table gained along the way
// (null in rows from before a column existed).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Session } from 'chdb';
import { quoteString } from '../../src/storage/clickhouse/sql-literal.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const ENV = { SERVICES: 'auth-gateway,tenant-node,metadata-catalog', COMPACTION_MIN_PARTS: '2', APPLIER_INTERVAL_MS: '20' };
// Parts are made with compaction off, then the plane restarts with it on, so
// that all six are there for its first pass (a merge of the first few would
// otherwise be too large a part to rewrite for the rest, by design).
const OFF = { COMPACTION_INTERVAL_MS: String(24 * 3600 * 1000) };
const ON = { COMPACTION_INTERVAL_MS: '300' };

async function partitionsOf(plane: RunningPlane, headers: Record<string, string>) {
  const res = await fetch(plane.url('metadata-catalog', '/metadata/partitions'), { method: 'POST', headers, body: '{}' });
  return ((await res.json()) as { partitions: Array<{ rows: number; file: string }> }).partitions;
}

/**
 * Six applied batches of ten rows on one day (from the fourth on, rows carry
 * a new field `extra`) on a plane without compaction, then the same data dir
 * on one with it, until the day is one part; returns that plane.
 */
async function compactedSmallParts(env: Record<string, string>): Promise<{ plane: RunningPlane; headers: Record<string, string>; parts: Array<{ rows: number; file: string }> }> {
  const dataDir = makeTempDir('compaction');
  let plane = await startPlane({ dataDir, env: { ...env, ...OFF } });
  try {
    const headers = { 'content-type': 'application/json', 'x-tenant-id': 'compact', ...(await adminHeaders(plane)) };
    await ingestSmallParts(plane, headers);
    assert.equal((await partitionsOf(plane, headers)).length, 6, 'six parts before compaction');
    assert.equal(await plane.stop('SIGTERM'), 0);
  } catch (err) {
    await plane.cleanup();
    removeTempDir(dataDir);
    throw err;
  }
  plane = await startPlane({ dataDir, env: { ...env, ...ON } });
  const cleanup = plane.cleanup.bind(plane);
  plane.cleanup = async () => {
    await cleanup();
    removeTempDir(dataDir);
  };
  const headers = { 'content-type': 'application/json', 'x-tenant-id': 'compact', ...(await adminHeaders(plane)) };
  let parts = await partitionsOf(plane, headers);
  for (let i = 0; i < 100 && parts.length > 1; i++) {
    await new Promise((r) => setTimeout(r, 100));
    parts = await partitionsOf(plane, headers);
  }
  return { plane, headers, parts };
}

async function ingestSmallParts(plane: RunningPlane, headers: Record<string, string>) {
  const partitions = () => partitionsOf(plane, headers);
  for (let b = 0; b < 6; b++) {
    const rows = Array.from({ length: 10 }, (_, i) => ({
      data_id: `b${b}-${i}`,
      payload: { b, i, ...(b >= 3 ? { extra: `x${i}` } : {}) },
      timestamp: `2026-05-05T10:0${b}:0${i % 10}Z`,
    }));
    assert.equal((await fetch(plane.url('tenant-node', '/data'), { method: 'POST', headers, body: JSON.stringify(rows) })).status, 201);
    // Wait until this batch is applied so each request becomes its own part.
    for (let i = 0; i < 100 && (await partitions()).reduce((s, p) => s + p.rows, 0) < (b + 1) * 10; i++) await new Promise((r) => setTimeout(r, 20));
  }
}

async function checkCompacted(plane: RunningPlane, headers: Record<string, string>, parts: Array<{ rows: number; file: string }>) {
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
  return path.join(dir, files()[0]!);
}

/** The merged file's rows, read by ClickHouse: every id once, in LSN order, `extra` null before it existed. */
async function checkMergedFile(file: string) {
  const dir = makeTempDir('compaction-read');
  const session = new Session(dir);
  try {
    const text = (await session.queryAsync(`SELECT data_id, lsn, b, i, extra FROM file(${quoteString(file)}, Parquet) SETTINGS use_hive_partitioning = 0`, { format: 'JSONEachRow' })).text();
    const rows = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { data_id: string; lsn: string; b: number; i: number; extra: string | null });
    assert.equal(rows.length, 60);
    assert.equal(new Set(rows.map((r) => r.data_id)).size, 60);
    for (let k = 1; k < rows.length; k++) assert.ok(Number(rows[k]!.lsn) >= Number(rows[k - 1]!.lsn), 'in LSN order');
    for (const r of rows) {
      assert.equal(r.data_id, `b${r.b}-${r.i}`);
      assert.equal(r.extra, r.b >= 3 ? `x${r.i}` : null, r.data_id);
    }
  } finally {
    session.close();
    removeTempDir(dir);
  }
}

test('embedded engine: small parts of a day are merged into one, atomically in the catalog', async () => {
  const { plane, headers, parts } = await compactedSmallParts(ENV);
  try {
    await checkMergedFile(await checkCompacted(plane, headers, parts));
  } finally {
    await plane.cleanup();
  }
});

test('ClickHouse server: the streaming merge gives the same result', async (t) => {
  const server = await startClickHouseServer();
  if ('skipped' in server) {
    t.skip(server.skipped);
    return;
  }
  try {
    const { plane, headers, parts } = await compactedSmallParts({ ...ENV, CLICKHOUSE_URL: server.url, CLICKHOUSE_DATABASE: 'cp_compaction' });
    try {
      await checkMergedFile(await checkCompacted(plane, headers, parts));
    } finally {
      await plane.cleanup();
    }
  } finally {
    await server.stop();
  }
});
