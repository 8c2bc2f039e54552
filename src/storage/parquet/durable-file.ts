// Crash-safe file replacement: after a crash either the old file or the new
// one is visible under the final name, never a torn one.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** fsync a directory so that a rename/unlink inside it survives power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Lets `write` create `tempPath` (same directory as `finalPath`, so the rename
 * is atomic), fsyncs it, renames it over `finalPath` and fsyncs the directory.
 * The temp file is removed if anything fails before the rename.
 */
export async function publishAtomically(tempPath: string, finalPath: string, write: (tempPath: string) => Promise<void>): Promise<void> {
  let renamed = false;
  try {
    await write(tempPath);
    const handle = await fs.open(tempPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tempPath, finalPath);
    renamed = true;
    await fsyncDir(path.dirname(finalPath));
  } finally {
    if (!renamed) await fs.rm(tempPath, { force: true });
  }
}

