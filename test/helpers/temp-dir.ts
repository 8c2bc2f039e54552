// Temp dirs for tests, and a delete that refuses anything outside the OS temp
// dir so a bad variable can never wipe a real data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function makeTempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function removeTempDir(dir: string): void {
  const resolved = path.resolve(dir);
  const tmp = path.resolve(os.tmpdir());
  if (!resolved.startsWith(tmp + path.sep) || resolved === tmp) {
    throw new Error(`refusing to delete ${resolved}: not inside ${tmp}`);
  }
  rmSync(resolved, { recursive: true, force: true });
}
