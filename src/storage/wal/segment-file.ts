// Segment files are named after the first LSN they hold (or, while empty, the LSN
// the next record will get), zero-padded so lexical and numeric order agree. The
// name of the newest segment is therefore enough to recover the next LSN even
// after every older segment has been truncated away.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const NAME_RE = /^wal-(\d{20})\.log$/;

export function segmentFileName(firstLsn: number): string {
  return `wal-${String(firstLsn).padStart(20, '0')}.log`;
}

/** The LSN a segment file name carries, or undefined for any other file. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  const lsn = Number(m[1]);
  return Number.isSafeInteger(lsn) && lsn >= 1 ? lsn : undefined;
}

/** Make file creations/deletions in `dir` durable: fsync of a file does not cover its directory entry. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Opens a segment for appending with O_DSYNC: each write returns once its bytes
 * and the file size are on stable storage, the effect of write + fdatasync in
 * one call. A group commit thus costs one trip through the threadpool and the
 * event loop instead of two, and under load the event loop is the slow part.
 */
export function openSegmentForAppend(file: string, mode: 'create' | 'existing'): Promise<FileHandle> {
  const { O_WRONLY, O_CREAT, O_EXCL, O_RDWR, O_DSYNC } = constants;
  return open(file, (mode === 'create' ? O_WRONLY | O_CREAT | O_EXCL : O_RDWR) | O_DSYNC, 0o644);
}
