// Ingest benchmark, all figures from one run on the same generated rows:
//   raw embedded insert rows/s (chdb JSONEachRow, no HTTP, no WAL)
//   batched durable POST /data rows/s (1,000 rows a request)
//   single-record durable POST /data requests/s at 64 concurrency
//   fsyncs/s and mean group-commit size during that run
//   an empty express route parsing the same JSON (the framework's floor)
// Each HTTP target is warmed up for 3 s with the same load before it is measured.
// Usage: node --import tsx scripts/bench/ingest.ts [seconds per phase=8]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Session } from 'chdb';
import { adminHeaders, REPO_ROOT, startPlane, tenantKeyHeaders } from '../../test/helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../../test/helpers/temp-dir.js';
import { runLoad } from './load.js';

const seconds = Number(process.argv[2] ?? 8);
const phaseMs = seconds * 1000;
// Every HTTP target gets the same warm-up (JIT, connection pools, caches) before it is measured.
const warmMs = Math.min(3000, phaseMs);

type LoadOptions = Parameters<typeof runLoad>[0];
async function warmThenMeasure(opts: LoadOptions) {
  await runLoad({ ...opts, durationMs: warmMs, body: (w, s) => opts.body(w, s + 5_000_000) });
  return runLoad(opts);
}

function row(i: number) {
  return { data_id: `id-${i}`, timestamp: 1_790_000_000_000 + i, payload: { user: `u${i % 1000}`, amount: (i % 997) * 1.5, country: ['NL', 'DE', 'FR', 'US'][i % 4], ok: i % 2 === 0 } };
}

async function rawEmbeddedInsert(rows: number): Promise<number> {
  const dir = makeTempDir('bench-raw');
  const s = new Session(path.join(dir, 'chdb'));
  try {
    await s.queryAsync('CREATE DATABASE IF NOT EXISTS b');
    await s.queryAsync(
      'CREATE TABLE b.t (data_id String, ts_ms Int64, date Date, lsn UInt64, payload String, user Nullable(String), amount Nullable(Float64), country Nullable(String), ok Nullable(UInt8)) ENGINE = ReplacingMergeTree(lsn) PARTITION BY toYYYYMM(date) ORDER BY data_id',
    );
    const batch = 10_000;
    const t0 = performance.now();
    for (let start = 0; start < rows; start += batch) {
      const lines: string[] = [];
      for (let i = start; i < Math.min(rows, start + batch); i++) {
        const r = row(i);
        lines.push(JSON.stringify({ data_id: r.data_id, ts_ms: r.timestamp, date: '2026-09-21', lsn: i, payload: JSON.stringify(r.payload), ...r.payload, ok: r.payload.ok ? 1 : 0 }));
      }
      await s.insert({ table: 'b.t', values: Buffer.from(lines.join('\n')), format: 'JSONEachRow' });
    }
    return rows / ((performance.now() - t0) / 1000);
  } finally {
    s.close();
    removeTempDir(dir);
  }
}

let metricsHeaders: Record<string, string> = {};

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url, { headers: metricsHeaders })).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function emptyRoute(): Promise<{ perSecond: number; p50Ms: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/empty-route-server.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (c: Buffer) => resolve((JSON.parse(c.toString()) as { port: number }).port)));
  try {
    const r = await warmThenMeasure({
      origin: `http://127.0.0.1:${port}`,
      path: '/data',
      concurrency: 64,
      durationMs: phaseMs,
      headers: { 'content-type': 'application/json', 'x-tenant-id': 'bench' },
      body: (w, s) => JSON.stringify(row(w * 10_000_000 + s)),
      expectStatus: 201,
    });
    return r;
  } finally {
    child.kill('SIGTERM');
  }
}

const plane = await startPlane({
  env: { SERVICES: 'tenant-node,monitoring,auth-gateway', LOG_LEVEL: 'warn', INGEST_ROWS_PER_SECOND: '100000000', INGEST_BURST_ROWS: '100000000' },
});
try {
  const origin = `http://127.0.0.1:${plane.ports['tenant-node']}`;
  const metricsUrl = plane.url('monitoring', '/metrics');
  metricsHeaders = await adminHeaders(plane);
  // Clients authenticate as a real ingestion client would: a writer API key (verified by scrypt once, then cached).
  const { headers: keyHeaders } = await tenantKeyHeaders(plane, 'bench');
  const ingestHeaders = { ...keyHeaders, 'content-type': 'application/json' };

  const raw = await rawEmbeddedInsert(200_000);

  const batchedOpts: LoadOptions = {
    origin,
    path: '/data?table=batched',
    concurrency: 4,
    durationMs: phaseMs,
    headers: ingestHeaders,
    body: (w, s) => JSON.stringify(Array.from({ length: 1000 }, (_, k) => row((w * 1_000_000 + s) * 1000 + k))),
    expectStatus: 201,
  };
  // Warm up, then let the applier finish the warm-up rows: each measured phase starts with an idle applier.
  await runLoad({ ...batchedOpts, durationMs: 1000, body: (w, q) => batchedOpts.body(w, q + 5_000_000) });
  while ((await metric(metricsUrl, 'applier_lag_wal_records')) > 0) await new Promise((r) => setTimeout(r, 100));
  const batched = await runLoad(batchedOpts);

  // Let the applier finish the batched backlog so the next phase measures the
  // acknowledge path, not a CPU shared with a busy applier; its drain rate is a figure too.
  const drainStart = performance.now();
  const appliedBefore = await metric(metricsUrl, 'applier_rows_applied_total');
  while ((await metric(metricsUrl, 'applier_lag_wal_records')) > 0) await new Promise((r) => setTimeout(r, 100));
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const appliedDuringDrain = (await metric(metricsUrl, 'applier_rows_applied_total')) - appliedBefore;
  const appliedTotal = await metric(metricsUrl, 'applier_rows_applied_total');

  const singleOpts: LoadOptions = {
    origin,
    path: '/data?table=single',
    concurrency: 64,
    durationMs: phaseMs,
    headers: ingestHeaders,
    body: (w, s) => JSON.stringify(row(900_000_000 + w * 10_000_000 + s)),
    expectStatus: 201,
  };
  await runLoad({ ...singleOpts, durationMs: warmMs, body: (w, s) => singleOpts.body(w, s + 5_000_000) });
  while ((await metric(metricsUrl, 'applier_lag_wal_records')) > 0) await new Promise((r) => setTimeout(r, 100));
  const fsyncsBefore = await metric(metricsUrl, 'wal_fsync_duration_seconds_count');
  const groupSumBefore = await metric(metricsUrl, 'wal_group_commit_size_sum');
  const single = await runLoad(singleOpts);
  const fsyncs = (await metric(metricsUrl, 'wal_fsync_duration_seconds_count')) - fsyncsBefore;
  const grouped = (await metric(metricsUrl, 'wal_group_commit_size_sum')) - groupSumBefore;

  const empty = await emptyRoute();

  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`raw embedded insert (chdb, JSONEachRow, 10k/insert): ${f(raw)} rows/s`);
  console.log(`batched durable POST /data (1,000 rows/request, 4 clients): ${f(batched.perSecond * 1000)} rows/s (${f(batched.perSecond)} req/s, p50 ${batched.p50Ms.toFixed(1)} ms, errors ${batched.errors})`);
  console.log(`applier: ${f(appliedTotal)} rows applied to ClickHouse + Parquet by the end of the batched phase drain; drain of the backlog took ${drainSeconds.toFixed(1)} s (${f(appliedDuringDrain / Math.max(drainSeconds, 0.001))} rows/s while draining)`);
  console.log(`single-record durable POST /data (64 clients): ${f(single.perSecond)} req/s (p50 ${single.p50Ms.toFixed(2)} ms, p99 ${single.p99Ms.toFixed(2)} ms, errors ${single.errors})`);
  console.log(`fsyncs during single-record run: ${f(fsyncs / single.seconds)}/s, mean group size ${(grouped / Math.max(1, fsyncs)).toFixed(1)} appends/fsync`);
  console.log(`empty express route parsing the same JSON (64 clients): ${f(empty.perSecond)} req/s (p50 ${empty.p50Ms.toFixed(2)} ms)`);
  console.log(`ratio batched / raw: ${((batched.perSecond * 1000) / raw).toFixed(2)} (goal >= 0.7)`);
  console.log(`ratio single / empty route: ${(single.perSecond / empty.perSecond).toFixed(2)} (goal >= 0.7)`);
} finally {
  await plane.stop('SIGTERM');
  await plane.cleanup();
}
