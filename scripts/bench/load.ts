// A small closed-loop load generator over undici: `concurrency` workers each
// send requests back to back for `durationMs`; reports requests/s and latency.
import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export async function runLoad(opts: {
  origin: string;
  path: string;
  concurrency: number;
  durationMs: number;
  headers: Record<string, string>;
  body: (worker: number, seq: number) => string;
  expectStatus: number;
}): Promise<LoadResult> {
  const pool = new Pool(opts.origin, { connections: opts.concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, w) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const t0 = performance.now();
        try {
          const res = await pool.request({ origin: opts.origin, path: opts.path, method: 'POST', headers: opts.headers, body: opts.body(w, seq) });
          await res.body.text();
          if (res.statusCode !== opts.expectStatus) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { requests: latencies.length, errors, seconds, perSecond: latencies.length / seconds, p50Ms: q(0.5), p99Ms: q(0.99) };
}
