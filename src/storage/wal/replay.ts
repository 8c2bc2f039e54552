// Open-time recovery: validate every segment in LSN order, cut a torn tail off
// the last one, and refuse to start on corruption anywhere else unless the
// operator passed skipCorrupt. Builds the in-memory index as a side effect.

import { mkdir, readdir, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

import { walCorruption } from './errors.js';
import { fsyncDir, openSegmentForAppend, parseSegmentFileName, segmentFileName } from './segment-file.js';
import type { Segment } from './segment-index.js';
import { scanSegment } from './segment-scanner.js';
import type { WalLogger } from './types.js';

export interface ReplayResult {
  segments: Segment[];
  /** Open read-write handle on the last segment, positioned by its `size`. */
  active: FileHandle;
  nextLsn: number;
}

export async function replay(dir: string, skipCorrupt: boolean, logger: WalLogger): Promise<ReplayResult> {
  await mkdir(dir, { recursive: true });
  const found = (await readdir(dir))
    .map((name) => ({ name, lsn: parseSegmentFileName(name) }))
    .filter((f): f is { name: string; lsn: number } => f.lsn !== undefined)
    .sort((a, b) => a.lsn - b.lsn);

  if (found.length === 0) {
    const name = segmentFileName(1);
    const file = path.join(dir, name);
    const active = await openSegmentForAppend(file, 'create');
    await fsyncDir(dir);
    return { segments: [{ name, path: file, baseLsn: 1, size: 0, extents: [] }], active, nextLsn: 1 };
  }

  const segments: Segment[] = [];
  let expected: number | undefined;
  let active: FileHandle | undefined;
  try {
    for (let i = 0; i < found.length; i++) {
      const { name, lsn: baseLsn } = found[i]!;
      const file = path.join(dir, name);
      const isLast = i === found.length - 1;

      if (expected !== undefined && baseLsn !== expected) {
        const reason =
          baseLsn > expected
            ? `segment starts at LSN ${baseLsn} but the previous one ended before ${expected}: LSNs ${expected}..${baseLsn - 1} are missing`
            : `segment starts at LSN ${baseLsn}, overlapping the previous segment (next expected ${expected})`;
        // An overlap cannot be indexed monotonically, so even skipCorrupt stops here.
        if (!skipCorrupt || baseLsn < expected) throw walCorruption({ file: name, offset: 0, reason });
        logger.error({ file: name, offset: 0, reason, skippedLsns: baseLsn - expected }, 'WAL gap between segments (skipCorrupt)');
      }

      const buf = await readFile(file);
      const scan = scanSegment(buf, baseLsn, isLast);
      for (const p of scan.problems) {
        if (!skipCorrupt) throw walCorruption({ file: name, offset: p.offset, reason: p.reason, skippedBytes: p.skippedBytes });
        logger.error(
          { file: name, offset: p.offset, reason: p.reason, skippedBytes: p.skippedBytes },
          'skipping corrupt WAL region (skipCorrupt)',
        );
      }

      if (isLast) {
        active = await openSegmentForAppend(file, 'existing');
        if (scan.torn) {
          await active.truncate(scan.torn.offset);
          await active.datasync();
          logger.warn(
            { file: name, offset: scan.torn.offset, bytesCut: scan.torn.bytes, reason: scan.torn.reason },
            'cut torn tail of WAL',
          );
        }
      }
      segments.push({ name, path: file, baseLsn, size: scan.validEnd, extents: scan.extents });
      expected = scan.nextLsn;
    }
  } catch (err) {
    await active?.close();
    throw err;
  }
  return { segments, active: active!, nextLsn: expected! };
}
