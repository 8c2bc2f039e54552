// On-disk record: u32 payloadLength | u32 crc32c | u64 lsn | payload, little
// endian. The CRC covers lsn + payload so a record copied to the wrong place or
// with a rotted LSN fails as surely as one with a rotted payload; the length is
// not covered because a wrong length already makes the CRC land on wrong bytes.

import { crc32c } from './crc32c.js';

export const HEADER_BYTES = 16;
/**
 * Sanity bound for the length field. Appends above it are refused, and on replay a
 * larger length is treated as a damaged header rather than an allocation request.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

// LSNs are JS numbers; above 2^53 they would silently lose precision.
const MAX_LSN_HIGH_WORD = 0x1fffff;

export function encodeRecord(lsn: number, payload: Uint8Array): Buffer {
  const rec = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  rec.writeUInt32LE(payload.length, 0);
  writeLsn(rec, 8, lsn);
  rec.set(payload, HEADER_BYTES);
  rec.writeUInt32LE(crc32c(rec.subarray(8)), 4);
  return rec;
}

export function writeLsn(buf: Buffer, offset: number, lsn: number): void {
  buf.writeUInt32LE(lsn % 0x1_0000_0000, offset);
  buf.writeUInt32LE(Math.floor(lsn / 0x1_0000_0000), offset + 4);
}

/** LSN stored at `offset`, or -1 when it cannot be a JS-safe integer. */
export function readLsn(buf: Buffer, offset: number): number {
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > MAX_LSN_HIGH_WORD) return -1;
  return hi * 0x1_0000_0000 + buf.readUInt32LE(offset);
}

export type ParsedRecord =
  | { ok: true; lsn: number; payloadOffset: number; payloadLength: number; end: number }
  | { ok: false; incomplete: boolean; reason: string };

/**
 * Parse and verify the record starting at `offset` in `buf` (bytes up to `limit`
 * are available). `incomplete` means the bytes simply ran out — the shape of a torn
 * write — as opposed to bytes that are present but wrong.
 */
export function parseRecordAt(buf: Buffer, offset: number, limit = buf.length): ParsedRecord {
  if (limit - offset < HEADER_BYTES) {
    return { ok: false, incomplete: true, reason: `incomplete header (${limit - offset} of ${HEADER_BYTES} bytes)` };
  }
  const payloadLength = buf.readUInt32LE(offset);
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    return { ok: false, incomplete: false, reason: `implausible record length ${payloadLength}` };
  }
  const end = offset + HEADER_BYTES + payloadLength;
  if (end > limit) {
    return {
      ok: false,
      incomplete: true,
      reason: `incomplete payload (${limit - offset - HEADER_BYTES} of ${payloadLength} bytes)`,
    };
  }
  const stored = buf.readUInt32LE(offset + 4);
  const actual = crc32c(buf.subarray(offset + 8, end));
  if (stored !== actual) {
    return { ok: false, incomplete: false, reason: `CRC mismatch (stored ${hex(stored)}, computed ${hex(actual)})` };
  }
  const lsn = readLsn(buf, offset + 8);
  if (lsn < 1) return { ok: false, incomplete: false, reason: 'LSN out of range' };
  return { ok: true, lsn, payloadOffset: offset + HEADER_BYTES, payloadLength, end };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
