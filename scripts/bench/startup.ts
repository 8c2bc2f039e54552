// Startup benchmark: time from `npm start` (the compiled dist/, as a user runs
// it) to all seven services answering /health, then to all seven /ready, and
// the idle RSS once settled. Each run starts cold (an empty data dir) and then
// warm (the same data dir again, stores already on disk). dist/ is built first,
// outside the timings. Usage: node --import tsx scripts/bench/startup.ts [runs=3]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { makeTempDir, removeTempDir } from '../../test/helpers/temp-dir.js';
import { REPO_ROOT, startPlane, type RunningPlane } from '../../test/helpers/control-plane-process.js';

const runs = Number(process.argv[2] ?? 3);
const GOAL_MS = 1000;

/** Total RSS, and its split: anonymous (heap, stacks: this process's own) vs file-backed (mapped code, mostly the embedded ClickHouse library, shared and reclaimable). */
function rssMb(pid: number): { total: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function allOk(plane: RunningPlane, path: string): Promise<boolean> {
  const results = await Promise.all(Object.keys(plane.ports).map((s) => fetch(plane.url(s, path)).then((r) => r.status === 200, () => false)));
  return results.length === 7 && results.every(Boolean);
}

async function timeStart(dataDir: string): Promise<{ healthyMs: number; readyMs: number; rss: ReturnType<typeof rssMb> }> {
  const t0 = performance.now();
  const plane = await startPlane({ via: 'npm-start', dataDir, waitForReady: false, env: { LOG_LEVEL: 'warn' } });
  try {
    while (!(await allOk(plane, '/health'))) await new Promise((r) => setTimeout(r, 5));
    const healthyMs = performance.now() - t0;
    while (!(await allOk(plane, '/ready'))) await new Promise((r) => setTimeout(r, 5));
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 3000));
    return { healthyMs, readyMs, rss: rssMb(plane.pid) };
  } finally {
    await plane.stop('SIGTERM');
    await plane.cleanup();
  }
}

const b0 = performance.now();
execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
console.log(`npm run build: ${((performance.now() - b0) / 1000).toFixed(1)} s (not timed below)`);

const rows: Record<'cold' | 'warm', Array<Awaited<ReturnType<typeof timeStart>>>> = { cold: [], warm: [] };
for (let i = 0; i < runs; i++) {
  const dataDir = makeTempDir('bench-startup');
  try {
    for (const kind of ['cold', 'warm'] as const) {
      const r = await timeStart(dataDir);
      rows[kind].push(r);
      console.log(
        `run ${i + 1} ${kind}: all seven healthy in ${r.healthyMs.toFixed(0)} ms, ready in ${r.readyMs.toFixed(0)} ms, idle RSS ${r.rss.total.toFixed(0)} MB (anonymous ${r.rss.anon.toFixed(0)} MB + file-backed ${r.rss.file.toFixed(0)} MB)`,
      );
    }
  } finally {
    removeTempDir(dataDir);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const kind of ['cold', 'warm'] as const) {
  const r = rows[kind];
  console.log(
    `median ${kind}: healthy ${median(r.map((x) => x.healthyMs)).toFixed(0)} ms (goal < ${GOAL_MS}), ready ${median(r.map((x) => x.readyMs)).toFixed(0)} ms, ` +
      `idle RSS ${median(r.map((x) => x.rss.total)).toFixed(0)} MB, anonymous ${median(r.map((x) => x.rss.anon)).toFixed(0)} MB (goal < 150)`,
  );
}
