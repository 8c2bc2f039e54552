import { test } from 'node:test';
import assert from 'node:assert/strict';

import { crc32c } from '../../src/storage/wal/crc32c.js';

// Vectors from RFC 3720 (iSCSI) appendix B.4 plus the standard check value.
test('crc32c matches known vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32, 0x00)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
});

test('crc32c agrees between the 8-byte fast path and the byte tail at every length', () => {
  // Reference: plain bitwise CRC-32C, independent of the tables.
  const reference = (data: Uint8Array): number => {
    let c = 0xffffffff;
    for (const b of data) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const data = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff));
  for (let len = 0; len <= data.length; len++) {
    assert.equal(crc32c(data.subarray(0, len)), reference(data.subarray(0, len)), `length ${len}`);
  }
});

test('crc32c can be continued over split input', () => {
  const all = Buffer.from('The quick brown fox jumps over the lazy dog');
  for (const cut of [0, 1, 7, 8, 9, 20, all.length]) {
    assert.equal(crc32c(all.subarray(cut), crc32c(all.subarray(0, cut))), crc32c(all), `cut at ${cut}`);
  }
});
