// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) — the checksum iSCSI,
// ext4 and most storage engines use for records, because it detects the burst
// errors of torn writes better than CRC-32/IEEE. Node 20 has no native crc32c, so
// this is a slicing-by-8 table implementation: eight 256-entry tables let the hot
// loop consume 8 bytes per iteration, several times faster than byte-at-a-time.

const POLY = 0x82f63b78;

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  // Table k advances a byte that sits k positions before the end of an 8-byte block.
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = ((prev >>> 8) ^ t[prev & 0xff]!) >>> 0;
    }
  }
  return t;
}

/**
 * CRC-32C of `data`. Pass a previous result as `previous` to continue a checksum
 * over data split into pieces: crc32c(b, crc32c(a)) === crc32c(a ++ b).
 */
export function crc32c(data: Uint8Array, previous = 0): number {
  const t = TABLE;
  let crc = ~previous >>> 0;
  let i = 0;
  const len = data.length;
  const blockEnd = len - (len % 8);
  while (i < blockEnd) {
    crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    crc =
      t[7 * 256 + (crc & 0xff)]! ^
      t[6 * 256 + ((crc >>> 8) & 0xff)]! ^
      t[5 * 256 + ((crc >>> 16) & 0xff)]! ^
      t[4 * 256 + (crc >>> 24)]! ^
      t[3 * 256 + data[i + 4]!]! ^
      t[2 * 256 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < len) {
    crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}
