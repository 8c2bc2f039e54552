// Startup benchmark: time from spawning `node --import tsx src/main.ts` to all
// seven services answering /health, then to all seven /ready, and the idle RSS
// once settled. Runs a few times on fresh data dirs and prints each run and the
// median. Usage: node --import tsx scripts/bench/startup.ts [runs=3]
import { readFileSync } from 'node:fs';
import { startPlane } from '../../test/helpers/control-plane-process.js';

const runs = Number(process.argv[2] ?? 3);

/** Total RSS, and its split: anonymous (heap, stacks: this process's own) vs file-backed (mapped code, mostly the embedded ClickHouse library, shared and reclaimable). */
function rssMb(pid: number): { total: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function allOk(plane: Awaited<ReturnType<typeof startPlane>>, path: string): Promise<boolean> {
  const results = await Promise.all(Object.keys(plane.ports).map((s) => fetch(plane.url(s, path)).then((r) => r.status === 200, () => false)));
  return results.length === 7 && results.every(Boolean);
}

const rows: Array<{ healthyMs: number; readyMs: number; rss: { total: number; anon: number; file: number } }> = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const plane = await startPlane({ waitForReady: false, env: { LOG_LEVEL: 'warn' } });
  try {
    while (!(await allOk(plane, '/health'))) await new Promise((r) => setTimeout(r, 5));
    const healthyMs = performance.now() - t0;
    while (!(await allOk(plane, '/ready'))) await new Promise((r) => setTimeout(r, 5));
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 3000));
    const rss = rssMb(plane.child.pid!);
    rows.push({ healthyMs, readyMs, rss });
    console.log(`run ${i + 1}: all seven healthy in ${healthyMs.toFixed(0)} ms, all ready in ${readyMs.toFixed(0)} ms, idle RSS ${rss.total.toFixed(0)} MB (anonymous ${rss.anon.toFixed(0)} MB + file-backed ${rss.file.toFixed(0)} MB)`);
  } finally {
    await plane.stop('SIGTERM');
    await plane.cleanup();
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `median: healthy ${median(rows.map((r) => r.healthyMs)).toFixed(0)} ms (goal < 2000), ready ${median(rows.map((r) => r.readyMs)).toFixed(0)} ms, idle RSS ${median(rows.map((r) => r.rss.total)).toFixed(0)} MB, of which anonymous ${median(rows.map((r) => r.rss.anon)).toFixed(0)} MB (goal < 200); the file-backed rest is mostly the embedded ClickHouse library's code pages`,
);
