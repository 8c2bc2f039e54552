import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { WriteAheadLog, type WalFsyncEvent, type WalLogger, type WalOptions } from '../../src/storage/wal/index.js';

interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

function memoryLogger(): WalLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-test-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function openWal(dir: string, extra: Partial<WalOptions> = {}) {
  return WriteAheadLog.open({ dir, logger: memoryLogger(), ...extra });
}

const payload = (i: number, size = 10) => Buffer.from(`p${i}-`.padEnd(size, 'x'));
const segmentFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.log')).sort();

test('a fresh log starts empty at LSN 1 with one segment named after it', async () => {
  await withDir(async (dir) => {
    const wal = await openWal(path.join(dir, 'nested', 'wal'));
    assert.equal(wal.lastLsn, 0);
    assert.equal(wal.firstLsn, 1);
    assert.deepEqual(await wal.read(1), []);
    assert.deepEqual(segmentFiles(path.join(dir, 'nested', 'wal')), ['wal-00000000000000000001.log']);
    await wal.close();
  });
});

test('appended records are readable right away and LSNs continue across close/reopen', async () => {
  await withDir(async (dir) => {
    let wal = await openWal(dir);
    assert.deepEqual(await wal.append([payload(1), payload(2)]), { firstLsn: 1, lastLsn: 2 });
    assert.deepEqual(await wal.append([payload(3)]), { firstLsn: 3, lastLsn: 3 });
    assert.deepEqual(
      (await wal.read(1)).map((e) => [e.lsn, e.payload.toString()]),
      [1, 2, 3].map((i) => [i, payload(i).toString()]),
    );
    await wal.close();

    wal = await openWal(dir);
    assert.equal(wal.lastLsn, 3);
    assert.deepEqual(await wal.append([payload(4)]), { firstLsn: 4, lastLsn: 4 });
    assert.deepEqual((await wal.read(0)).map((e) => e.lsn), [1, 2, 3, 4]);
    await wal.close();
  });
});

test('rotates by size, a huge record gets a segment of its own, LSNs continue across segments and restarts', async () => {
  await withDir(async (dir) => {
    // Each record is 16 + 10 = 26 bytes; 100-byte segments hold 3 of them.
    let wal = await openWal(dir, { segmentBytes: 100 });
    for (let i = 1; i <= 7; i++) await wal.append([payload(i)]);
    assert.deepEqual(segmentFiles(dir), [
      'wal-00000000000000000001.log',
      'wal-00000000000000000004.log',
      'wal-00000000000000000007.log',
    ]);
    for (const f of segmentFiles(dir)) assert.ok(fs.statSync(path.join(dir, f)).size <= 100);

    await wal.append([Buffer.alloc(500, 1)]); // LSN 8, bigger than a segment
    await wal.append([payload(9)]);
    assert.deepEqual(segmentFiles(dir).slice(3), ['wal-00000000000000000008.log', 'wal-00000000000000000009.log']);
    assert.equal(fs.statSync(path.join(dir, 'wal-00000000000000000008.log')).size, 516);
    await wal.close();

    wal = await openWal(dir, { segmentBytes: 100 });
    assert.equal(wal.lastLsn, 9);
    assert.deepEqual((await wal.read(1)).map((e) => e.lsn), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(await wal.append([payload(10), payload(11), payload(12)]), { firstLsn: 10, lastLsn: 12 });
    assert.equal(wal.stats().segments, 6); // 9..11 fill one segment, 12 starts the next
    assert.ok(segmentFiles(dir).includes('wal-00000000000000000012.log'));
    await wal.close();
  });
});

test('read() honours maxRecords, maxBytes and starts mid-segment and across segments', async () => {
  await withDir(async (dir) => {
    // 4 KiB segments, 300 records of 20 bytes (36 on disk): ~113 per segment,
    // so the sparse index (stride 64) is exercised in and across segments.
    const wal = await openWal(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 300; i += 50) {
      await wal.append(Array.from({ length: 50 }, (_, j) => payload(i + j + 1, 20)));
    }
    assert.ok(wal.stats().segments >= 3);

    for (const from of [1, 2, 63, 64, 65, 66, 100, 113, 114, 129, 200, 299, 300]) {
      const got = await wal.read(from, { maxRecords: 5 });
      const expected = Array.from({ length: Math.min(5, 301 - from) }, (_, k) => from + k);
      assert.deepEqual(got.map((e) => e.lsn), expected, `from ${from}`);
      assert.deepEqual(got[0]!.payload, payload(from, 20));
    }
    // A read spanning all segments returns everything in order.
    const all = await wal.read(1, { maxRecords: 1000 });
    assert.equal(all.length, 300);
    all.forEach((e, i) => assert.equal(e.lsn, i + 1));

    // maxBytes bounds the payload sum (20 bytes each) ...
    assert.equal((await wal.read(100, { maxBytes: 65 })).length, 3);
    assert.equal((await wal.read(100, { maxBytes: 60 })).length, 3);
    // ... but one record is always returned so a big record cannot stall a reader.
    assert.equal((await wal.read(100, { maxBytes: 1 })).length, 1);

    assert.deepEqual(await wal.read(301), []);
    assert.deepEqual(await wal.read(10_000), []);
    await wal.close();
  });
});

test('truncateThrough deletes only fully covered, non-active segments; LSNs survive deleting everything older', async () => {
  await withDir(async (dir) => {
    let wal = await openWal(dir, { segmentBytes: 100 });
    for (let i = 1; i <= 7; i++) await wal.append([payload(i)]); // segments 1-3, 4-6, 7
    assert.equal(await wal.truncateThrough(2), 0, 'segment 1-3 still holds LSN 3');
    assert.equal(await wal.truncateThrough(5), 1);
    assert.deepEqual(segmentFiles(dir), ['wal-00000000000000000004.log', 'wal-00000000000000000007.log']);
    assert.equal(wal.firstLsn, 4);
    assert.deepEqual((await wal.read(1, { maxRecords: 2 })).map((e) => e.lsn), [4, 5]);
    assert.equal(await wal.truncateThrough(100), 1, 'the active segment is never deleted');
    assert.deepEqual(segmentFiles(dir), ['wal-00000000000000000007.log']);
    await wal.append([payload(8), payload(9)]); // segment 7 now holds 7-9 (78 bytes)
    await wal.append([payload(10)]); // would exceed 100 bytes: rotates, sealing 7-9
    assert.equal(await wal.truncateThrough(10), 1);
    assert.deepEqual(segmentFiles(dir), ['wal-00000000000000000010.log']);
    assert.equal(await wal.truncateThrough(10), 0);
    await wal.close();

    // Everything but the active segment is gone; the active one's records still count.
    wal = await openWal(dir, { segmentBytes: 100 });
    assert.equal(wal.firstLsn, 10);
    assert.equal(wal.lastLsn, 10);
    assert.deepEqual(await wal.append([payload(11)]), { firstLsn: 11, lastLsn: 11 });
    await wal.close();
  });
});

test('the next LSN is recovered from the name of an empty segment once older ones are gone', async () => {
  await withDir(async (dir) => {
    let wal = await openWal(dir, { segmentBytes: 26 }); // one 26-byte record per segment
    for (let i = 1; i <= 4; i++) await wal.append([payload(i)]);
    await wal.close();
    // Simulate the state right after a rotation: an empty active segment, older ones deleted.
    for (const f of segmentFiles(dir)) fs.unlinkSync(path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'wal-00000000000000000005.log'), '');
    wal = await openWal(dir, { segmentBytes: 26 });
    assert.equal(wal.lastLsn, 4);
    assert.equal(wal.firstLsn, 5);
    assert.deepEqual(await wal.append([payload(5)]), { firstLsn: 5, lastLsn: 5 });
    await wal.close();
  });
});

test('group commit: 200 concurrent appends share few fsyncs and get distinct consecutive LSNs in call order', async () => {
  await withDir(async (dir) => {
    const events: WalFsyncEvent[] = [];
    const wal = await openWal(dir, { hooks: { onFsync: (e) => events.push(e) } });
    await wal.append([payload(0)]); // warm up: the first group is alone
    events.length = 0;

    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => wal.append([payload(i + 1)])));
    results.forEach((r, i) => assert.deepEqual(r, { firstLsn: i + 2, lastLsn: i + 2 }, `call ${i}`));
    assert.ok(events.length < 20, `expected far fewer than 200 fsyncs, got ${events.length}`);
    assert.equal(events.reduce((n, e) => n + e.appends, 0), 200);
    assert.equal(events.reduce((n, e) => n + e.records, 0), 200);
    assert.equal(events.reduce((n, e) => n + e.bytes, 0), 200 * 26);
    assert.ok(events.every((e) => e.durationSeconds >= 0));
    assert.equal(wal.stats().fsyncs, 1 + events.length);
    assert.equal(wal.stats().appendedRecords, 201);
    assert.equal(wal.lastLsn, 201);

    // Appends that trickle in while a flush runs join the next group.
    events.length = 0;
    const first = wal.append([payload(1)]);
    await new Promise((r) => setImmediate(r));
    const more = Array.from({ length: 50 }, () => wal.append([payload(2), payload(3)]));
    await Promise.all([first, ...more]);
    assert.ok(events.length <= 3, `got ${events.length} fsyncs`);
    assert.equal(wal.lastLsn, 302);
    const read = await wal.read(1, { maxRecords: 1000 });
    assert.deepEqual(read.map((e) => e.lsn), Array.from({ length: 302 }, (_, i) => i + 1));
    await wal.close();
  });
});

test('close waits for pending appends; append, read and truncate after close reject', async () => {
  await withDir(async (dir) => {
    const wal = await openWal(dir);
    const pending = Array.from({ length: 20 }, (_, i) => wal.append([payload(i)]));
    const closing = wal.close();
    await assert.rejects(wal.append([payload(99)]), { code: 'shutting_down' });
    const results = await Promise.all(pending);
    await closing;
    assert.equal(results.at(-1)!.lastLsn, 20);
    await assert.rejects(wal.append([payload(1)]), { code: 'shutting_down' });
    await assert.rejects(wal.read(1), { code: 'shutting_down' });
    await assert.rejects(wal.truncateThrough(1), { code: 'shutting_down' });
    await wal.close(); // idempotent

    const reopened = await openWal(dir);
    assert.equal(reopened.lastLsn, 20);
    await reopened.close();
  });
});

test('stats reflect segments, bytes and LSN bounds', async () => {
  await withDir(async (dir) => {
    const wal = await openWal(dir, { segmentBytes: 100 });
    await wal.append([payload(1), payload(2), payload(3), payload(4)]);
    assert.deepEqual(wal.stats(), { segments: 2, bytes: 4 * 26, lastLsn: 4, firstLsn: 1, fsyncs: 2, appendedRecords: 4 });
    await assert.rejects(wal.append([]), RangeError);
    await wal.close();
  });
});

test('concurrent appends that cross several rotations stay ordered and replay intact', async () => {
  await withDir(async (dir) => {
    let wal = await openWal(dir, { segmentBytes: 300 });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => wal.append(i % 3 === 0 ? [payload(i), payload(i)] : [payload(i)])),
    );
    let expectedFirst = 1;
    for (const r of results) {
      assert.equal(r.firstLsn, expectedFirst);
      expectedFirst = r.lastLsn + 1;
    }
    const total = expectedFirst - 1;
    assert.ok(wal.stats().segments > 5);
    for (const f of segmentFiles(dir)) assert.ok(fs.statSync(path.join(dir, f)).size <= 300, f);
    await wal.close();
    wal = await openWal(dir, { segmentBytes: 300 });
    assert.deepEqual((await wal.read(1, { maxRecords: 1000 })).map((e) => e.lsn), Array.from({ length: total }, (_, i) => i + 1));
    await wal.close();
  });
});

test('a failed durable write rejects the whole group and every later append; nothing is acknowledged', async () => {
  await withDir(async (dir) => {
    const wal = await openWal(dir);
    await wal.append([payload(1)]);
    // Reach the private handle: the only way to make a real O_DSYNC write fail on demand.
    const handle = Reflect.get(wal, 'active') as { write: () => Promise<never> };
    handle.write = () => Promise.reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
    const group = Array.from({ length: 10 }, (_, i) => wal.append([payload(i + 2)]));
    for (const p of group) await assert.rejects(p, { code: 'storage_failure' });
    await assert.rejects(wal.append([payload(99)]), { code: 'storage_failure' });
    assert.equal(wal.lastLsn, 1, 'a failed group never becomes durable in the index');
    assert.deepEqual((await wal.read(1)).map((e) => e.lsn), [1]);
    await wal.close();
  });
});
