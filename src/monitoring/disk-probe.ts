// Free space on the file system holding DATA_DIR, refreshed by the monitoring
// loop (statfs is async; a scrape reads the last value instead of waiting).
import type { StatsFs } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';

export interface DiskUsage {
  path: string;
  freeBytes: number;
  sizeBytes: number;
  freeRatio: number;
}

export class DiskProbe {
  private last?: DiskUsage;

  constructor(readonly path: string) {}

  get usage(): DiskUsage | undefined {
    return this.last;
  }

  async refresh(): Promise<DiskUsage | undefined> {
    try {
      // On a first boot DATA_DIR may not exist yet: its nearest existing parent is on the same file system (usually).
      const s = await statfsNearest(this.path);
      // bavail, not bfree: what an unprivileged process can still write.
      const freeBytes = s.bavail * s.bsize;
      const sizeBytes = s.blocks * s.bsize;
      this.last = { path: this.path, freeBytes, sizeBytes, freeRatio: sizeBytes > 0 ? freeBytes / sizeBytes : 0 };
    } catch {
      // Nothing on the path exists or statfs failed; keep the previous reading.
    }
    return this.last;
  }
}

async function statfsNearest(p: string): Promise<StatsFs> {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    try {
      return await statfs(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
    }
  }
}
