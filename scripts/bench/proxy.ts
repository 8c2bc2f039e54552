// Forwarding overhead, in one run: the same route (POST /parse/sql of the
// reference Python worker) called directly on the worker and through the
// control plane (DISTRIBUTED_MODE=true, auth, forwarding over pooled undici
// connections). Prints p50/p99 latency and requests/s of both and the
// difference; no asserts. Goals (issue 6): ≤ 1 ms p50 added, ≥ 0.8× throughput.
// Two concurrency levels: 1 (latency added by the hop alone) and N (throughput;
// on a small shared machine the control plane, the worker and this load
// generator compete for the same cores).
// Usage: node --import tsx scripts/bench/proxy.ts [seconds per phase=5] [concurrency=8]
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Pool } from 'undici';
import { adminHeaders, REPO_ROOT, startPlane } from '../../test/helpers/control-plane-process.js';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 8);
const BODY = JSON.stringify({ sql: 'SELECT country, count(*) FROM events WHERE amount > 10 GROUP BY country' });

interface Result {
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  servedBy: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function load(origin: string, headers: Record<string, string>, durationMs: number, concurrency: number): Promise<Result> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let servedBy = '';
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const res = await pool.request({ path: '/parse/sql', method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: BODY });
          await res.body.text();
          if (res.statusCode !== 200) errors++;
          servedBy = String(res.headers['x-served-by'] ?? res.headers['x-worker-id'] ?? '');
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { requests: latencies.length, errors, perSecond: latencies.length / secs, p50Ms: q(0.5), p99Ms: q(0.99), servedBy };
}

const port = await freePort();
const worker = spawn('python3', ['services/worker.py', '--port', String(port), '--id', 'bench', '--service', 'query-interpreter', '--capacity', '64'], {
  cwd: REPO_ROOT,
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve) => worker.stdout!.once('data', () => resolve()));
let plane: Awaited<ReturnType<typeof startPlane>> | undefined;
try {
  plane = await startPlane({
    env: { LOG_LEVEL: 'warn', DISTRIBUTED_MODE: 'true', QUERY_INTERPRETER_URL: `http://127.0.0.1:${port}`, SERVICES: 'query-interpreter' },
  });
  const auth = await adminHeaders(plane);
  // Scripts call with API keys: verified once, then cached (JWTs are verified on every request).
  // A reader key of a tenant: a service key acts only on its registration and leases.
  await fetch(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'proxy-bench' }) });
  const created = await fetch(plane.url('auth-gateway', '/admin/api-keys'), {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'proxy bench', role: 'reader', tenant: 'proxy-bench' }),
  });
  const apiKey = { authorization: `Bearer ${((await created.json()) as { key: string }).key}` };
  const direct = `http://127.0.0.1:${port}`;
  const proxied = plane.url('query-interpreter', '');
  // Warm both paths (connections, JIT) before measuring.
  await load(direct, {}, 500, concurrency);
  await load(proxied, apiKey, 500, concurrency);
  await load(proxied, auth, 500, concurrency);
  const ms = seconds * 1000;
  const fmt = (name: string, r: Result) =>
    `  ${name.padEnd(22)} ${r.perSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(6)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   ${r.requests} requests, ${r.errors} errors, served by ${r.servedBy}`;
  for (const c of [...new Set([1, concurrency])]) {
    const d = await load(direct, {}, ms, c);
    const k = await load(proxied, apiKey, ms, c);
    const p = await load(proxied, auth, ms, c);
    console.log(`POST /parse/sql, ${c} concurrent, ${seconds} s per phase`);
    console.log(fmt('direct to worker', d));
    console.log(fmt('via plane, API key', k));
    console.log(fmt('via plane, JWT', p));
    // One client waits for each answer, so its throughput is 1/latency: the throughput goal is judged under concurrency.
    const throughputGoal = c > 1 ? ' (goal ≥ 0.8×)' : ' (latency-bound at one client; the goal is judged under concurrency)';
    for (const [name, r] of [['API key', k], ['JWT', p]] as const) {
      console.log(`  ${name}: added p50 ${(r.p50Ms - d.p50Ms).toFixed(2)} ms (goal ≤ 1 ms), throughput ${(r.perSecond / d.perSecond).toFixed(2)}× direct${throughputGoal}`);
    }
  }
} finally {
  worker.kill('SIGTERM');
  await plane?.cleanup();
}
