// Replay, recovery and listing against real files in a temp dir.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Session } from 'chdb';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import { COLUMNS, makeRecords, makeTempDir, sqlString } from './parquet-test-data.js';

const tmp = makeTempDir('parquet-lifecycle-');
after(() => tmp.remove());

let n = 0;
function freshSink(): ParquetSink {
  return new ParquetSink({ rootDir: path.join(tmp.dir, `root-${++n}`) });
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

describe('parquet sink lifecycle', () => {
  it('writing the same batch twice leaves one file per date', async () => {
    const sink = freshSink();
    const records = makeRecords(300);
    const first = await sink.writeBatch('t1', 'events', COLUMNS, records);
    const second = await sink.writeBatch('t1', 'events', COLUMNS, [...records].reverse());
    assert.deepEqual(second.map((p) => p.path), first.map((p) => p.path));
    assert.deepEqual(filesUnder(sink.rootDir), first.map((p) => p.relativePath).sort());
    const listed = await sink.listParts('t1', 'events');
    assert.deepEqual(listed.map((p) => p.rows), [150, 150]);
  });

  it('a replay atomically replaces the file and ClickHouse sees the new content', async () => {
    const sink = freshSink();
    const records = makeRecords(10);
    const [part] = await sink.writeBatch('t1', 'events', [], records.slice(0, 1));
    const replay = records.slice(0, 1).map((r) => ({ ...r, payload: { replaced: true } }));
    await sink.writeBatch('t1', 'events', [], replay);
    const session = new Session(path.join(tmp.dir, 'chdb'));
    try {
      const res = await session.queryAsync(`SELECT payload FROM file(${sqlString(part!.path)}, Parquet)`, { format: 'JSONEachRow' });
      assert.deepEqual(JSON.parse(res.text()), { payload: '{"replaced":true}' });
    } finally {
      session.cleanup();
    }
  });

  it('listParts reports what writeBatch returned', async () => {
    const sink = freshSink();
    const a = await sink.writeBatch('t1', 'events', COLUMNS, makeRecords(100, 1));
    const b = await sink.writeBatch('t1', 'clicks', [], makeRecords(50, 101));
    const c = await sink.writeBatch('t2', 'events', [], makeRecords(20, 151));
    const all = [...a, ...b, ...c];
    const sort = (xs: typeof all) => [...xs].sort((x, y) => (x.path < y.path ? -1 : 1));
    assert.deepEqual(sort(await sink.listParts()), sort(all));
    assert.deepEqual(sort(await sink.listParts('t1')), sort([...a, ...b]));
    assert.deepEqual(await sink.listParts('t1', 'clicks'), b);
    assert.deepEqual(await sink.listParts('nobody'), []);
    assert.deepEqual(await new ParquetSink({ rootDir: path.join(tmp.dir, 'missing') }).listParts(), []);
  });

  it('removePartsAfter removes only parts with lastLsn beyond the checkpoint', async () => {
    const sink = freshSink();
    const kept = await sink.writeBatch('t1', 'events', COLUMNS, makeRecords(100, 1)); // LSN 1..100
    const later = [
      ...(await sink.writeBatch('t1', 'events', COLUMNS, makeRecords(100, 101))), // 101..200
      ...(await sink.writeBatch('t2', 'other', [], makeRecords(5, 201))), // 201..205
    ];
    const deleted = await sink.removePartsAfter(100);
    assert.deepEqual(deleted, later.map((p) => p.path).sort());
    assert.deepEqual(await sink.listParts(), kept);
    assert.deepEqual(await sink.removePartsAfter(100), []);
  });

  it('removePartsAfter also removes stale temp files, and nothing else', async () => {
    const sink = freshSink();
    const [part] = await sink.writeBatch('t1', 'events', [], makeRecords(1, 7));
    const dir = path.dirname(part!.path);
    const stale = path.join(dir, `.${path.basename(part!.path)}.tmp-deadbeef01`);
    const foreign = path.join(dir, 'README.txt');
    fs.writeFileSync(stale, 'half a parquet file');
    fs.writeFileSync(foreign, 'not ours');
    assert.deepEqual(await sink.removePartsAfter(1_000), []);
    assert.ok(!fs.existsSync(stale));
    assert.ok(fs.existsSync(foreign));
    assert.ok(fs.existsSync(part!.path));
    assert.deepEqual((await sink.listParts()).map((p) => p.path), [part!.path]);
  });

  it('leaves no temp file behind after a write', async () => {
    const sink = freshSink();
    await sink.writeBatch('t1', 'events', COLUMNS, makeRecords(500));
    assert.ok(filesUnder(sink.rootDir).every((f) => path.basename(f).startsWith('part-')));
  });

  it('deletePart deletes one part and is idempotent', async () => {
    const sink = freshSink();
    const parts = await sink.writeBatch('t1', 'events', [], makeRecords(10));
    await sink.deletePart(parts[0]!.path);
    await sink.deletePart(parts[0]!.path);
    await sink.deletePart(parts[1]!.relativePath); // relative to the root is accepted too
    assert.deepEqual(await sink.listParts(), []);
  });

  it('an empty batch writes nothing', async () => {
    const sink = freshSink();
    assert.deepEqual(await sink.writeBatch('t1', 'events', COLUMNS, []), []);
    assert.deepEqual(filesUnder(sink.rootDir), []);
  });
});
