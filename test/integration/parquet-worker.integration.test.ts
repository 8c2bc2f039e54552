// The sink's encoder worker threads: crash recovery, close(), several workers.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isAppError } from '../../src/platform/errors.js';
import type { PoolPartWriter } from '../../src/storage/parquet/part-writer.js';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import type { ParquetSinkOptions } from '../../src/storage/parquet/index.js';
import { COLUMNS, makeRecords, makeTempDir } from './parquet-test-data.js';

const tmp = makeTempDir('parquet-worker-');
after(() => tmp.remove());

let n = 0;
const sinks: ParquetSink[] = [];
after(() => Promise.all(sinks.map((s) => s.close())));

function freshSink(opts: Partial<ParquetSinkOptions> = {}): ParquetSink {
  const sink = new ParquetSink({ rootDir: path.join(tmp.dir, `root-${++n}`), ...opts });
  sinks.push(sink);
  return sink;
}

function workersOf(sink: ParquetSink) {
  return (sink as unknown as { writer: PoolPartWriter }).writer.pool.liveWorkers();
}

function isStorageFailure(err: unknown): boolean {
  return isAppError(err) && err.code === 'storage_failure';
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => path.basename(f))
    .sort();
}

describe('parquet sink encoder workers', () => {
  it('starts no worker until the first write', async () => {
    const sink = freshSink();
    assert.deepEqual(await sink.listParts(), []);
    assert.equal(workersOf(sink).length, 0);
    await sink.writeBatch('t1', 'events', COLUMNS, makeRecords(10));
    assert.equal(workersOf(sink).length, 1);
  });

  it('a write still succeeds after the worker is terminated', async () => {
    const sink = freshSink();
    await sink.writeBatch('t1', 'events', COLUMNS, makeRecords(10));
    const [worker] = workersOf(sink);
    assert.ok(worker);
    await worker.terminate();
    const parts = await sink.writeBatch('t1', 'events', COLUMNS, makeRecords(10, 11));
    assert.deepEqual(parts.map((p) => p.rows), [5, 5]);
    assert.notEqual(workersOf(sink)[0], worker);
    assert.equal((await sink.listParts()).length, 4);
  });

  it('a worker that dies mid-write fails that write with storage_failure; the next write succeeds', async () => {
    const sink = freshSink();
    const records = makeRecords(20_000);
    const outcome = assert.rejects(sink.writeBatch('t1', 'events', COLUMNS, records), isStorageFailure);
    // Wait until the worker exists and is busy, then kill it.
    while (workersOf(sink).length === 0) await new Promise((r) => setImmediate(r));
    await workersOf(sink)[0]!.terminate();
    await outcome;
    const parts = await sink.writeBatch('t1', 'events', COLUMNS, records);
    assert.equal(parts.reduce((sum, p) => sum + p.rows, 0), records.length);
    assert.ok(filesUnder(sink.rootDir).every((f) => f.startsWith('part-')), 'no temp file left');
    assert.deepEqual((await sink.listParts()).map((p) => p.path), parts.map((p) => p.path));
  });

  it('close() terminates the worker, is idempotent, and later writes fail with storage_failure', async () => {
    const sink = freshSink();
    const [part] = await sink.writeBatch('t1', 'events', [], makeRecords(1));
    const [worker] = workersOf(sink);
    let exited = false;
    worker!.once('exit', () => (exited = true));
    await Promise.all([sink.close(), sink.close()]);
    await sink.close();
    assert.ok(exited);
    assert.equal(workersOf(sink).length, 0);
    await assert.rejects(sink.writeBatch('t1', 'events', [], makeRecords(1, 2)), isStorageFailure);
    assert.deepEqual((await sink.listParts()).map((p) => p.path), [part!.path]);
    await sink.deletePart(part!.path);
    assert.deepEqual(await sink.listParts(), []);
  });

  it('close() fails a write in flight with storage_failure', async () => {
    const sink = freshSink();
    const outcome = assert.rejects(sink.writeBatch('t1', 'events', COLUMNS, makeRecords(20_000)), isStorageFailure);
    await new Promise((r) => setImmediate(r));
    await sink.close();
    await outcome;
  });

  it('several workers write the same files as one', async () => {
    const records = makeRecords(3_000);
    const one = freshSink();
    const two = freshSink({ workers: 2 });
    const [a, b] = await Promise.all([
      one.writeBatch('t1', 'events', COLUMNS, records),
      two.writeBatch('t1', 'events', COLUMNS, records),
    ]);
    assert.deepEqual(
      b.map((p) => [p.relativePath, p.rows, p.firstLsn, p.lastLsn, p.minTsMs, p.maxTsMs]),
      a.map((p) => [p.relativePath, p.rows, p.firstLsn, p.lastLsn, p.minTsMs, p.maxTsMs]),
    );
    assert.equal(workersOf(two).length, 2);
    for (let i = 0; i < a.length; i++) {
      assert.ok(fs.readFileSync(a[i]!.path).equals(fs.readFileSync(b[i]!.path)), a[i]!.relativePath);
    }
  });

  it('concurrent writes to one sink all land', async () => {
    const sink = freshSink();
    const batches = [1, 101, 201, 301].map((first) => makeRecords(100, first));
    const results = await Promise.all(batches.map((r) => sink.writeBatch('t1', 'events', COLUMNS, r)));
    assert.equal(results.flat().length, 8);
    assert.equal((await sink.listParts()).length, 8);
  });

  it('rejects a bad workers option', () => {
    for (const workers of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new ParquetSink({ rootDir: tmp.dir, workers }), /workers must be a positive integer/);
    }
  });
});
