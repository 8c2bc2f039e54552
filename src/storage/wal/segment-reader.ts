// Reads records of one extent back from disk for read(). Reads go through a
// fresh file handle per call (no shared fd that truncateThrough could close under
// a reader) and a chunked buffer, so a batch of small records costs a few large
// preads rather than two syscalls per record. Records are re-verified: bytes can
// rot after open, and a bad record must never be handed to the applier.

import { open } from 'node:fs/promises';

import { walCorruption } from './errors.js';
import { HEADER_BYTES, parseRecordAt } from './record-codec.js';
import type { ReadStart } from './segment-index.js';
import type { WalEntry } from './types.js';

const CHUNK_BYTES = 256 * 1024;

export interface ReadBudget {
  maxRecords: number;
  maxBytes: number;
  /** Payload bytes already returned by earlier extents of the same read(). */
  bytesSoFar: number;
  /** Records already returned by earlier extents of the same read(). */
  recordsSoFar: number;
}

export async function readExtent(start: ReadStart, budget: ReadBudget): Promise<WalEntry[]> {
  const { segment, extent } = start;
  const end = extent.endOffset;
  const out: WalEntry[] = [];
  let records = budget.recordsSoFar;
  let bytes = budget.bytesSoFar;

  const fh = await open(segment.path, 'r');
  try {
    let buf = Buffer.alloc(0);
    let bufStart = start.offset; // file offset of buf[0]
    let pos = start.offset;
    let lsn = start.lsnAtOffset;

    // Make sure [pos, pos + n) is in buf, reading ahead by a chunk.
    const ensure = async (n: number): Promise<void> => {
      if (pos + n <= bufStart + buf.length) return;
      const want = Math.min(Math.max(n, CHUNK_BYTES), end - pos);
      const next = Buffer.allocUnsafe(want);
      let filled = 0;
      while (filled < want) {
        const { bytesRead } = await fh.read(next, filled, want - filled, pos + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      buf = next.subarray(0, filled);
      bufStart = pos;
    };

    while (pos < end && lsn <= extent.lastLsn && records < budget.maxRecords) {
      await ensure(HEADER_BYTES);
      const payloadLength = buf.length - (pos - bufStart) >= HEADER_BYTES ? buf.readUInt32LE(pos - bufStart) : 0;
      if (lsn >= start.startLsn && records > 0 && bytes + payloadLength > budget.maxBytes) break;
      await ensure(HEADER_BYTES + payloadLength);
      const rel = pos - bufStart;
      const rec = parseRecordAt(buf, rel);
      if (!rec.ok || rec.lsn !== lsn) {
        throw walCorruption({
          file: segment.name,
          offset: pos,
          reason: rec.ok ? `expected LSN ${lsn}, found ${rec.lsn}` : `${rec.reason} (on read)`,
        });
      }
      if (lsn >= start.startLsn) {
        // Copy out: the caller may keep payloads long after this chunk is gone.
        out.push({ lsn, payload: Buffer.from(buf.subarray(rec.payloadOffset, rec.payloadOffset + rec.payloadLength)) });
        records++;
        bytes += rec.payloadLength;
      }
      pos += rec.end - rel;
      lsn++;
    }
  } finally {
    await fh.close();
  }
  return out;
}
