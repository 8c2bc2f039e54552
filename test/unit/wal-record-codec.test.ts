import { test } from 'node:test';
import assert from 'node:assert/strict';

import { crc32c } from '../../src/storage/wal/crc32c.js';
import { encodeRecord, HEADER_BYTES, parseRecordAt } from '../../src/storage/wal/record-codec.js';
import { scanSegment } from '../../src/storage/wal/segment-scanner.js';
import { segmentFileName, parseSegmentFileName } from '../../src/storage/wal/segment-file.js';

test('encode/decode round trip keeps lsn and payload, layout is little endian', () => {
  for (const [lsn, payload] of [
    [1, Buffer.alloc(0)],
    [42, Buffer.from('hello wal')],
    [2 ** 40 + 3, Buffer.alloc(5000, 7)],
  ] as const) {
    const rec = encodeRecord(lsn, payload);
    assert.equal(rec.length, HEADER_BYTES + payload.length);
    assert.equal(rec.readUInt32LE(0), payload.length);
    assert.equal(rec.readBigUInt64LE(8), BigInt(lsn));
    assert.equal(rec.readUInt32LE(4), crc32c(rec.subarray(8)));
    const parsed = parseRecordAt(rec, 0);
    assert.ok(parsed.ok);
    assert.equal(parsed.lsn, lsn);
    assert.deepEqual(rec.subarray(parsed.payloadOffset, parsed.payloadOffset + parsed.payloadLength), payload);
    assert.equal(parsed.end, rec.length);
  }
});

test('the CRC covers lsn and payload; short buffers are reported as incomplete', () => {
  const rec = encodeRecord(7, Buffer.from('payload'));
  for (const byte of [8, 12, HEADER_BYTES, rec.length - 1]) {
    const bad = Buffer.from(rec);
    bad[byte]! ^= 0x01;
    const parsed = parseRecordAt(bad, 0);
    assert.equal(parsed.ok, false, `flip at ${byte}`);
    assert.equal(!parsed.ok && parsed.incomplete, false);
  }
  for (let cut = 0; cut < rec.length; cut++) {
    const parsed = parseRecordAt(rec.subarray(0, cut), 0);
    assert.ok(!parsed.ok && parsed.incomplete, `cut at ${cut}`);
  }
});

test('segment file names carry the zero-padded first LSN', () => {
  assert.equal(segmentFileName(17), 'wal-00000000000000000017.log');
  assert.equal(parseSegmentFileName('wal-00000000000000000017.log'), 17);
  assert.equal(parseSegmentFileName('wal-17.log'), undefined);
  assert.equal(parseSegmentFileName('wal-00000000000000000017.log.tmp'), undefined);
});

test('scanner: garbage after valid records in the last segment is a torn tail, in a sealed one it is corruption', () => {
  const good = Buffer.concat([encodeRecord(5, Buffer.from('a')), encodeRecord(6, Buffer.from('bb'))]);
  const withGarbage = Buffer.concat([good, Buffer.from('garbage-garbage-garbage')]);
  const last = scanSegment(withGarbage, 5, true);
  assert.deepEqual(last.problems, []);
  assert.equal(last.torn?.offset, good.length);
  assert.equal(last.validEnd, good.length);
  assert.equal(last.nextLsn, 7);
  const sealed = scanSegment(withGarbage, 5, false);
  assert.equal(sealed.torn, undefined);
  assert.equal(sealed.problems.length, 1);
  assert.equal(sealed.problems[0]!.offset, good.length);
});

test('scanner: a bad record followed by a valid one is corruption, resynchronised at the next record', () => {
  const r1 = encodeRecord(1, Buffer.from('one'));
  const r2 = encodeRecord(2, Buffer.from('two'));
  const r3 = encodeRecord(3, Buffer.from('three'));
  const buf = Buffer.concat([r1, r2, r3]);
  buf[r1.length + HEADER_BYTES]! ^= 0xff; // payload byte of record 2
  const res = scanSegment(buf, 1, true);
  assert.equal(res.torn, undefined);
  assert.equal(res.problems.length, 1);
  assert.equal(res.problems[0]!.offset, r1.length);
  assert.equal(res.problems[0]!.skippedBytes, r2.length);
  assert.deepEqual(
    res.extents.map((e) => [e.firstLsn, e.lastLsn]),
    [
      [1, 1],
      [3, 3],
    ],
  );
  assert.equal(res.nextLsn, 4);
});

test('scanner: an LSN that does not follow on is reported even with a valid CRC', () => {
  const buf = Buffer.concat([encodeRecord(1, Buffer.from('x')), encodeRecord(3, Buffer.from('y'))]);
  const res = scanSegment(buf, 1, true);
  assert.equal(res.problems.length, 1);
  assert.match(res.problems[0]!.reason, /gap/);
});
