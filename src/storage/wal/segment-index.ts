// In-memory index of what is durable on disk. A segment holds one or more
// extents: runs of consecutive LSNs at known byte ranges. Normally a segment is
// one extent; more appear only when `skipCorrupt` stepped over a damaged region.
// Each extent keeps a sparse offset table (every SPARSE_STRIDE-th record) so a
// read seeks close to its LSN without keeping one offset per record in memory.

export const SPARSE_STRIDE = 64;

export interface Extent {
  firstLsn: number;
  lastLsn: number;
  startOffset: number;
  /** Byte just past the last record of the extent. */
  endOffset: number;
  /** sparse[k] = offset of the record with LSN firstLsn + k * SPARSE_STRIDE. */
  sparse: number[];
}

export interface Segment {
  name: string;
  path: string;
  /** The LSN in the file name. */
  baseLsn: number;
  /** Durable, validated bytes (reads never go past this). */
  size: number;
  extents: Extent[];
}

export function segmentLastLsn(seg: Segment): number {
  return seg.extents.at(-1)?.lastLsn ?? seg.baseLsn - 1;
}

export function segmentFirstLsn(seg: Segment): number | undefined {
  return seg.extents[0]?.firstLsn;
}

/** Record that a record with `lsn` occupies [offset, offset+length) of `seg`. */
export function indexRecord(seg: Segment, lsn: number, offset: number, length: number): void {
  const last = seg.extents.at(-1);
  if (last && last.lastLsn + 1 === lsn && last.endOffset === offset) {
    if ((lsn - last.firstLsn) % SPARSE_STRIDE === 0) last.sparse.push(offset);
    last.lastLsn = lsn;
    last.endOffset = offset + length;
    return;
  }
  seg.extents.push({ firstLsn: lsn, lastLsn: lsn, startOffset: offset, endOffset: offset + length, sparse: [offset] });
}

export interface ReadStart {
  segment: Segment;
  extent: Extent;
  /** Offset of a record at or before the first wanted one (a sparse-index hit). */
  offset: number;
  /** LSN of the record at `offset`. */
  lsnAtOffset: number;
  /** First LSN the caller gets (>= the requested one; larger when older data is gone). */
  startLsn: number;
}

/** Where to start reading for the first durable record with LSN >= `lsn`. */
export function locate(segments: readonly Segment[], lsn: number): ReadStart | undefined {
  // Binary search for the last segment whose name LSN is <= lsn; earlier ones cannot hold it.
  let lo = 0;
  let hi = segments.length - 1;
  let from = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid]!.baseLsn <= lsn) {
      from = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  for (let i = from; i < segments.length; i++) {
    const segment = segments[i]!;
    for (const extent of segment.extents) {
      if (extent.lastLsn < lsn) continue;
      const startLsn = Math.max(lsn, extent.firstLsn);
      const k = Math.floor((startLsn - extent.firstLsn) / SPARSE_STRIDE);
      return {
        segment,
        extent,
        offset: extent.sparse[k]!,
        lsnAtOffset: extent.firstLsn + k * SPARSE_STRIDE,
        startLsn,
      };
    }
  }
  return undefined;
}
