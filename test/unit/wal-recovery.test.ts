import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { isWalCorruption, WriteAheadLog, type WalLogger } from '../../src/storage/wal/index.js';

interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function memoryLogger(): WalLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const push = (level: LogLine['level']) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-test-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const payload = (i: number) => Buffer.from(`record-${i}-payload`);
const RECORD_BYTES = 16 + payload(1).length; // all test payloads with i < 10 have the same size
const FIRST = 'wal-00000000000000000001.log';

/** Write `count` records into a fresh log in `dir` and close it. */
async function seed(dir: string, count: number, segmentBytes?: number): Promise<void> {
  const wal = await WriteAheadLog.open({ dir, logger: memoryLogger(), segmentBytes });
  for (let i = 1; i <= count; i++) await wal.append([payload(i)]);
  await wal.close();
}

async function lsnsOf(wal: WriteAheadLog): Promise<number[]> {
  return (await wal.read(1, { maxRecords: 1000 })).map((e) => e.lsn);
}

test('a last record truncated at every byte offset reopens with exactly the previous records', async () => {
  await withDir(async (dir) => {
    const src = path.join(dir, 'src');
    await seed(src, 3);
    const full = fs.readFileSync(path.join(src, FIRST));
    const lastStart = 2 * RECORD_BYTES;
    assert.equal(full.length, 3 * RECORD_BYTES);

    for (let cut = lastStart; cut < full.length; cut++) {
      const d = path.join(dir, `cut-${cut}`);
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, FIRST), full.subarray(0, cut));
      const logger = memoryLogger();
      const wal = await WriteAheadLog.open({ dir: d, logger });
      assert.equal(wal.lastLsn, 2, `cut ${cut}`);
      assert.deepEqual(await lsnsOf(wal), [1, 2], `cut ${cut}`);
      const warns = logger.lines.filter((l) => l.level === 'warn');
      if (cut === lastStart) {
        assert.equal(warns.length, 0, 'a clean record boundary is not a torn tail');
      } else {
        assert.equal(warns.length, 1, `cut ${cut}`);
        assert.deepEqual(
          { file: warns[0]!.obj.file, offset: warns[0]!.obj.offset, bytesCut: warns[0]!.obj.bytesCut },
          { file: FIRST, offset: lastStart, bytesCut: cut - lastStart },
        );
      }
      assert.equal(fs.statSync(path.join(d, FIRST)).size, lastStart, 'the torn bytes are cut from the file');
      // The torn record's LSN is reused: it was never acknowledged.
      assert.deepEqual(await wal.append([payload(3)]), { firstLsn: 3, lastLsn: 3 });
      await wal.close();
      fs.rmSync(d, { recursive: true });
    }
  });
});

test('garbage after the last valid record (CRC-bad tail) is cut as a torn tail', async () => {
  await withDir(async (dir) => {
    await seed(dir, 3);
    const file = path.join(dir, FIRST);
    // A plausible-looking header (length 4, wrong CRC, next LSN) followed by junk.
    const junk = Buffer.alloc(40, 0xab);
    junk.writeUInt32LE(4, 0);
    junk.writeUInt32LE(0xdeadbeef, 4);
    junk.writeBigUInt64LE(4n, 8);
    fs.appendFileSync(file, junk);
    const logger = memoryLogger();
    const wal = await WriteAheadLog.open({ dir, logger });
    assert.equal(wal.lastLsn, 3);
    assert.equal(fs.statSync(file).size, 3 * RECORD_BYTES);
    const warn = logger.lines.find((l) => l.level === 'warn');
    assert.equal(warn?.obj.offset, 3 * RECORD_BYTES);
    assert.equal(warn?.obj.bytesCut, 40);
    await wal.close();
  });
});

test('a flipped byte in a middle record makes open reject, naming the file and offset', async () => {
  await withDir(async (dir) => {
    await seed(dir, 5);
    const file = path.join(dir, FIRST);
    const buf = fs.readFileSync(file);
    buf[2 * RECORD_BYTES + 20]! ^= 0x40; // payload of LSN 3; LSNs 4 and 5 are intact
    fs.writeFileSync(file, buf);

    await assert.rejects(WriteAheadLog.open({ dir, logger: memoryLogger() }), (err: unknown) => {
      assert.ok(isWalCorruption(err));
      assert.equal(err.code, 'wal_corrupt');
      assert.equal(err.details.file, FIRST);
      assert.equal(err.details.offset, 2 * RECORD_BYTES);
      assert.match(err.message, new RegExp(`${FIRST} at byte ${2 * RECORD_BYTES}`));
      return true;
    });
    assert.equal(fs.statSync(file).size, 5 * RECORD_BYTES, 'a rejected open must not touch the file');
  });
});

test('with skipCorrupt the log opens, logs the skipped range at error level and keeps the valid records', async () => {
  await withDir(async (dir) => {
    await seed(dir, 5);
    const file = path.join(dir, FIRST);
    const buf = fs.readFileSync(file);
    buf[2 * RECORD_BYTES + 1]! ^= 0xff; // length field of LSN 3: its boundaries cannot be trusted
    fs.writeFileSync(file, buf);

    const logger = memoryLogger();
    const wal = await WriteAheadLog.open({ dir, logger, skipCorrupt: true });
    const errors = logger.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.obj.file, FIRST);
    assert.equal(errors[0]!.obj.offset, 2 * RECORD_BYTES);
    assert.equal(errors[0]!.obj.skippedBytes, RECORD_BYTES, 'only the damaged record is skipped');
    assert.deepEqual(await lsnsOf(wal), [1, 2, 4, 5]);
    assert.equal(wal.lastLsn, 5);
    assert.deepEqual(await wal.append([payload(6)]), { firstLsn: 6, lastLsn: 6 });
    assert.deepEqual((await wal.read(4)).map((e) => e.lsn), [4, 5, 6]);
    await wal.close();
  });
});

test('damage at the end of a sealed segment is corruption, not a torn tail', async () => {
  await withDir(async (dir) => {
    await seed(dir, 4, 2 * RECORD_BYTES); // segments 1-2 and 3-4
    const sealed = path.join(dir, FIRST);
    fs.truncateSync(sealed, 2 * RECORD_BYTES - 5);
    await assert.rejects(WriteAheadLog.open({ dir, logger: memoryLogger() }), (err: unknown) => {
      assert.ok(isWalCorruption(err));
      assert.equal(err.details.file, FIRST);
      assert.equal(err.details.offset, RECORD_BYTES);
      return true;
    });
    const logger = memoryLogger();
    const wal = await WriteAheadLog.open({ dir, logger, skipCorrupt: true });
    assert.deepEqual(await lsnsOf(wal), [1, 3, 4]);
    const errors = logger.lines.filter((l) => l.level === 'error');
    // The damaged range, then the LSN it cost (2) at the next segment boundary.
    assert.deepEqual(
      errors.map((e) => [e.obj.file, e.obj.offset]),
      [
        [FIRST, RECORD_BYTES],
        ['wal-00000000000000000003.log', 0],
      ],
    );
    await wal.close();
  });
});

test('a missing segment in the middle is reported as a gap', async () => {
  await withDir(async (dir) => {
    await seed(dir, 6, 2 * RECORD_BYTES); // segments 1-2, 3-4, 5-6
    fs.unlinkSync(path.join(dir, 'wal-00000000000000000003.log'));
    await assert.rejects(WriteAheadLog.open({ dir, logger: memoryLogger() }), (err: unknown) => {
      assert.ok(isWalCorruption(err));
      assert.equal(err.details.file, 'wal-00000000000000000005.log');
      assert.match(err.message, /3\.\.4 are missing/);
      return true;
    });
    const wal = await WriteAheadLog.open({ dir, logger: memoryLogger(), skipCorrupt: true });
    assert.deepEqual(await lsnsOf(wal), [1, 2, 5, 6]);
    assert.deepEqual((await wal.read(3)).map((e) => e.lsn), [5, 6]);
    await wal.close();
  });
});

test('bytes that rot after open are detected by read()', async () => {
  await withDir(async (dir) => {
    await seed(dir, 3);
    const wal = await WriteAheadLog.open({ dir, logger: memoryLogger() });
    const file = path.join(dir, FIRST);
    const buf = fs.readFileSync(file);
    buf[RECORD_BYTES + 18]! ^= 0x01;
    fs.writeFileSync(file, buf);
    await assert.rejects(wal.read(1), (err: unknown) => {
      assert.ok(isWalCorruption(err));
      assert.equal(err.details.offset, RECORD_BYTES);
      return true;
    });
    await wal.close();
  });
});
