// `npm run build`: compiles src/ to dist/ with tsc (source maps on), copies the
// dashboard's static assets next to the compiled service, and stamps the build
// so `npm start` can tell whether dist/ is older than the sources.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const STAMP = path.join(DIST, '.build-stamp');
const ASSETS = ['services/monitoring/assets'];

export function build() {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit', cwd: ROOT });
  for (const dir of ASSETS) cpSync(path.join(ROOT, 'src', dir), path.join(DIST, dir), { recursive: true });
  mkdirSync(DIST, { recursive: true });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  build();
  console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
