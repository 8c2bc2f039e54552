// Free space on the file system holding DATA_DIR, and the bytes the state
// store (LevelDB) takes on disk, refreshed by the monitoring loop (statfs and
// stat are async; a scrape reads the last value instead of waiting).
import type { StatsFs } from 'node:fs';
import { readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';

export interface DiskUsage {
  path: string;
  freeBytes: number;
  sizeBytes: number;
  freeRatio: number;
}

export class DiskProbe {
  private last?: DiskUsage;
  private stateBytes?: number;

  constructor(
    readonly path: string,
    /** STATE_PATH: its files are summed (LevelDB keeps a flat directory of tables and logs). */
    readonly statePath?: string,
  ) {}

  get usage(): DiskUsage | undefined {
    return this.last;
  }

  get stateStoreBytes(): number | undefined {
    return this.stateBytes;
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
    if (this.statePath) this.stateBytes = (await directoryBytes(this.statePath)) ?? this.stateBytes;
    return this.last;
  }
}

async function directoryBytes(dir: string): Promise<number | undefined> {
  try {
    let total = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      // A file compacted away between readdir and stat is simply not counted.
      if (entry.isFile()) total += (await stat(path.join(dir, entry.name)).catch(() => undefined))?.size ?? 0;
    }
    return total;
  } catch {
    return undefined;
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
