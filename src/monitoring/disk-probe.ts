// Free space on the file system holding DATA_DIR, refreshed by the monitoring
// loop (statfs is async; a scrape reads the last value instead of waiting).
import { statfs } from 'node:fs/promises';

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
      const s = await statfs(this.path);
      // bavail, not bfree: what an unprivileged process can still write.
      const freeBytes = s.bavail * s.bsize;
      const sizeBytes = s.blocks * s.bsize;
      this.last = { path: this.path, freeBytes, sizeBytes, freeRatio: sizeBytes > 0 ? freeBytes / sizeBytes : 0 };
    } catch {
      // DATA_DIR may not exist yet on first boot; keep the previous reading.
    }
    return this.last;
  }
}
