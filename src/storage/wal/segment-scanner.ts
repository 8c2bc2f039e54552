// Replay-time validation of one segment's bytes. Pure (buffer in, verdict out) so
// the torn-tail/corruption rules can be tested without files.
//
// Rules:
// - A record is good when its header and payload are present, its CRC matches and
//   its LSN is the expected next one.
// - A bad record followed by nothing valid is a torn tail if this is the last
//   (active) segment: a crash mid-write. It is reported as `torn`, to be cut.
// - Anything else is corruption: reported in `problems` with its byte offset. The
//   scan still continues as `skipCorrupt` would: it resynchronises at the next
//   byte offset where a valid record starts (the bad record's length cannot be
//   trusted), so the skipped range is exactly [offset, offset + skippedBytes).
//   In a sealed segment with nothing valid after the damage, the skip runs to the
//   end of the file.

import { HEADER_BYTES, MAX_PAYLOAD_BYTES, parseRecordAt, readLsn } from './record-codec.js';
import { indexRecord, type Extent, type Segment } from './segment-index.js';

export interface ScanProblem {
  offset: number;
  reason: string;
  /** Bytes not indexed because of this problem (0 when only an LSN gap was seen). */
  skippedBytes: number;
}

export interface ScanResult {
  extents: Extent[];
  /** Offset up to which the file is valid (the file size unless a torn tail was found). */
  validEnd: number;
  torn?: { offset: number; bytes: number; reason: string };
  problems: ScanProblem[];
  /** LSN the record after this segment should carry. */
  nextLsn: number;
  records: number;
}

export function scanSegment(buf: Buffer, baseLsn: number, isLast: boolean): ScanResult {
  const seg: Segment = { name: '', path: '', baseLsn, size: 0, extents: [] };
  const problems: ScanProblem[] = [];
  let expected = baseLsn;
  let off = 0;
  let records = 0;
  let resynced = false;
  let torn: ScanResult['torn'];
  let validEnd = buf.length;

  while (off < buf.length) {
    const rec = parseRecordAt(buf, off);
    if (rec.ok) {
      if (rec.lsn < expected) {
        problems.push({ offset: off, reason: `LSN ${rec.lsn} repeats or goes backwards (expected ${expected})`, skippedBytes: rec.end - off });
        off = rec.end;
        continue;
      }
      // After a resync the LSNs of the skipped records are unknowable, so a jump is expected.
      if (rec.lsn > expected && !resynced) {
        problems.push({ offset: off, reason: `LSN gap: expected ${expected}, found ${rec.lsn}`, skippedBytes: 0 });
      }
      resynced = false;
      indexRecord(seg, rec.lsn, off, rec.end - off);
      records++;
      expected = rec.lsn + 1;
      off = rec.end;
      continue;
    }
    const next = findNextValidRecord(buf, off + 1, expected);
    if (next === -1) {
      if (isLast) {
        torn = { offset: off, bytes: buf.length - off, reason: rec.reason };
        validEnd = off;
      } else {
        problems.push({ offset: off, reason: `${rec.reason}; nothing valid follows in this sealed segment`, skippedBytes: buf.length - off });
      }
      break;
    }
    problems.push({ offset: off, reason: `${rec.reason}; next valid record at byte ${next}`, skippedBytes: next - off });
    resynced = true;
    off = next;
  }
  return { extents: seg.extents, validEnd, torn, problems, nextLsn: expected, records };
}

/**
 * First offset >= `from` where a complete, CRC-valid record starts whose LSN could
 * follow `minLsn`. The LSN bound (records are at least HEADER_BYTES long, so at
 * most (offset - from) / HEADER_BYTES + 1 of them can have been lost) rejects
 * nearly every garbage offset before paying for a CRC.
 */
export function findNextValidRecord(buf: Buffer, from: number, minLsn: number): number {
  for (let p = from; p + HEADER_BYTES <= buf.length; p++) {
    const lsn = readLsn(buf, p + 8);
    if (lsn < minLsn || lsn > minLsn + Math.floor((p - from) / HEADER_BYTES) + 1) continue;
    const len = buf.readUInt32LE(p);
    if (len > MAX_PAYLOAD_BYTES || p + HEADER_BYTES + len > buf.length) continue;
    if (parseRecordAt(buf, p).ok) return p;
  }
  return -1;
}
