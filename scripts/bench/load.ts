// A small closed-loop load generator over undici: `concurrency` workers each
// send requests back to back for `durationMs`; reports requests/s and latency.
// With `backoffMs`, a 503 (the server pushing back) is not an error: the
// worker waits that long and carries on, as a client honouring Retry-After
// (shortened) would; such answers are counted apart.
import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  /** 503s answered while backing off (only with `backoffMs`). */
  refused: number;
  seconds: number;
  /** Requests answered with the expected status, per second. */
  perSecond: number;
  /** Latency of the requests answered with the expected status. */
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
  backoffMs?: number;
}): Promise<LoadResult> {
  const pool = new Pool(opts.origin, { connections: opts.concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let refused = 0;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, w) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const t0 = performance.now();
        try {
          const res = await pool.request({ origin: opts.origin, path: opts.path, method: 'POST', headers: opts.headers, body: opts.body(w, seq) });
          await res.body.text();
          if (res.statusCode === opts.expectStatus) {
            latencies.push(performance.now() - t0);
          } else if (res.statusCode === 503 && opts.backoffMs !== undefined) {
            refused++;
            await new Promise((r) => setTimeout(r, opts.backoffMs));
          } else {
            errors++;
          }
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { requests: latencies.length, errors, refused, seconds, perSecond: latencies.length / seconds, p50Ms: q(0.5), p99Ms: q(0.99) };
}
