// `npm start`: runs the compiled control plane (dist/main.js) in this process,
// building it first when dist/ is missing or older than any source file. No
// TypeScript loader at run time: that is what `npm run dev` is for.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, DIST, ROOT, STAMP } from './build.mjs';

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function isStale() {
  let built;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    return true;
  }
  const inputs = [path.join(ROOT, 'tsconfig.json'), path.join(ROOT, 'tsconfig.build.json'), path.join(ROOT, 'package-lock.json')];
  return newestMtime(path.join(ROOT, 'src')) > built || inputs.some((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs > built);
}

if (isStale()) {
  console.error('npm start: dist/ is missing or older than src/; building first (npm run build)');
  build();
}
await import(pathToFileURL(path.join(DIST, 'main.js')).href);
