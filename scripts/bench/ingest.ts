// Ingest benchmark, all figures from one run on the same generated rows:
//   raw baselines (no HTTP, no WAL): a chdb JSONEachRow insert alone, and the
//     same insert beside a Parquet file of the same rows written by chdb
//     (two connections, side by side): what the applier does, without it;
//   acknowledged: batched durable POST /data rows/s (1,000 rows a request,
//     4 clients, the applier idle at the start), against the raw insert;
//   sustained: 8 clients post batches for a while, more than the applier
//     drains, with the pending buffer bounded (INGEST_MAX_PENDING_ROWS; a 503
//     makes a client wait 100 ms):
//     rows applied to ClickHouse and Parquet and committed in the catalog per
//     second once steady, against the insert + Parquet baseline; runs with
//     compaction off and on (every second) alternate, twice each, each on a
//     fresh plane, with ack p99 and the longest gap between applier commits
//     while the backlog drained;
//   single-record durable POST /data requests/s at 64 concurrency, fsyncs/s
//     and mean group-commit size during that run, and an empty express route
//     parsing the same JSON (the framework's floor);
//   RSS under a ClickHouse outage: a ClickHouse server is killed under the
//     same load for `outage` seconds and restarted (skipped without one).
// Each HTTP target is warmed up for 3 s with the same load before it is measured.
// Usage: node --import tsx scripts/bench/ingest.ts [seconds per phase=8] [outage seconds=60]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'chdb';
import { restartClickHouseServer, startClickHouseServer } from '../../test/helpers/clickhouse-server.js';
import { adminHeaders, REPO_ROOT, startPlane, tenantKeyHeaders, type RunningPlane } from '../../test/helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../../test/helpers/temp-dir.js';
import { runLoad, type LoadResult } from './load.js';

const seconds = Number(process.argv[2] ?? 8);
const outageSeconds = Number(process.argv[3] ?? 60);
const phaseMs = seconds * 1000;
// Every HTTP target gets the same warm-up (JIT, connection pools, caches) before it is measured.
const warmMs = Math.min(3000, phaseMs);
const sustainedMs = Math.max(20_000, 2 * phaseMs);
const BATCH_ROWS = 50_000;
const PENDING_CAP_ROWS = 500_000;
const f = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

type LoadOptions = Parameters<typeof runLoad>[0];
async function warmThenMeasure(opts: LoadOptions) {
  await runLoad({ ...opts, durationMs: warmMs, body: (w, s) => opts.body(w, s + 5_000_000) });
  return runLoad(opts);
}

/** Row i; every timestamp falls in one hour of one UTC day, as live data does (one Parquet part per batch). */
function row(i: number) {
  return { data_id: `id-${i}`, timestamp: 1_790_000_000_000 + (i % 3_600_000), payload: { user: `u${i % 1000}`, amount: (i % 997) * 1.5, country: ['NL', 'DE', 'FR', 'US'][i % 4], ok: i % 2 === 0 } };
}

/** The rows as the applier would write them to the table, rendered in JavaScript (part of the baseline's cost). */
function tableLines(start: number, end: number): string {
  const lines: string[] = [];
  for (let i = start; i < end; i++) {
    const r = row(i);
    lines.push(JSON.stringify({ data_id: r.data_id, ts_ms: r.timestamp, date: '2026-09-21', lsn: i, payload: JSON.stringify(r.payload), ...r.payload, ok: r.payload.ok ? 1 : 0 }));
  }
  return lines.join('\n');
}

/** Raw chdb: the insert alone (10k rows an insert), then the same insert beside a Parquet file of the same rows (two connections, 50k-row batches). */
async function rawBaselines(rows: number): Promise<{ insert: number; insertAndParquet: number }> {
  const dir = makeTempDir('bench-raw');
  const s = new Session(path.join(dir, 'chdb'));
  const s2 = new Session(path.join(dir, 'chdb'));
  try {
    await s.queryAsync('CREATE DATABASE IF NOT EXISTS b');
    const ddl = (t: string) =>
      `CREATE TABLE b.${t} (data_id String, ts_ms Int64, date Date, lsn UInt64, payload String, user Nullable(String), amount Nullable(Float64), country Nullable(String), ok Nullable(UInt8)) ENGINE = ReplacingMergeTree(lsn) PARTITION BY toYYYYMM(date) ORDER BY data_id`;
    await s.queryAsync(ddl('t1'));
    await s.queryAsync(ddl('t2'));
    let t0 = performance.now();
    // 10,000 rows an insert, as this figure has always been measured (the acknowledged ratio's baseline).
    for (let start = 0; start < rows; start += 10_000) {
      await s.insert({ table: 'b.t1', values: Buffer.from(tableLines(start, Math.min(rows, start + 10_000))), format: 'JSONEachRow' });
    }
    const insert = rows / ((performance.now() - t0) / 1000);
    const structure = 'data_id String, ts_ms Int64, lsn Int64, payload String, user Nullable(String), amount Nullable(Float64), country Nullable(String), ok Nullable(Bool)';
    t0 = performance.now();
    for (let start = 0, k = 0; start < rows; start += BATCH_ROWS, k++) {
      const end = Math.min(rows, start + BATCH_ROWS);
      const lines = tableLines(start, end);
      const partLines: string[] = [];
      for (let i = start; i < end; i++) {
        const r = row(i);
        partLines.push(JSON.stringify({ data_id: r.data_id, ts_ms: r.timestamp, lsn: i, payload: JSON.stringify(r.payload), ...r.payload }));
      }
      const file = path.join(dir, `part-${k}.parquet`);
      await Promise.all([
        s.insert({ table: 'b.t2', values: Buffer.from(lines), format: 'JSONEachRow' }),
        s2.queryAsync(
          `INSERT INTO FUNCTION file('${file}', 'Parquet', '${structure}') SETTINGS output_format_parquet_compression_method = 'snappy', ` +
            `output_format_parquet_write_bloom_filter = 0 FORMAT JSONEachRow\n${partLines.join('\n')}\n`,
        ),
      ]);
    }
    return { insert, insertAndParquet: rows / ((performance.now() - t0) / 1000) };
  } finally {
    s.close();
    s2.close();
    // The engine may still be finishing background work on its files.
    for (let i = 0; i < 5; i++) {
      try {
        removeTempDir(dir);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

let metricsHeaders: Record<string, string> = {};

async function metricsText(plane: RunningPlane): Promise<string> {
  return (await fetch(plane.url('monitoring', '/metrics'), { headers: metricsHeaders })).text();
}

function metricOf(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function metric(plane: RunningPlane, name: string): Promise<number> {
  return metricOf(await metricsText(plane), name);
}

async function waitIdle(plane: RunningPlane): Promise<void> {
  while ((await metric(plane, 'applier_lag_wal_records')) > 0) await new Promise((r) => setTimeout(r, 100));
}

async function emptyRoute(): Promise<{ perSecond: number; p50Ms: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/empty-route-server.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (c: Buffer) => resolve((JSON.parse(c.toString()) as { port: number }).port)));
  try {
    return await warmThenMeasure({
      origin: `http://127.0.0.1:${port}`,
      path: '/data',
      concurrency: 64,
      durationMs: phaseMs,
      headers: { 'content-type': 'application/json', 'x-tenant-id': 'bench' },
      body: (w, s) => JSON.stringify(row(w * 10_000_000 + s)),
      expectStatus: 201,
    });
  } finally {
    child.kill('SIGTERM');
  }
}

const PLANE_ENV = {
  SERVICES: 'tenant-node,monitoring,auth-gateway',
  LOG_LEVEL: 'warn',
  INGEST_ROWS_PER_SECOND: '100000000',
  INGEST_BURST_ROWS: '100000000',
};
/** The sustained phases bound the backlog lower than the default, to reach the bound within the window. */
const BOUNDED = { INGEST_MAX_PENDING_ROWS: String(PENDING_CAP_ROWS) };
const COMPACTION_OFF = { COMPACTION_INTERVAL_MS: String(24 * 3600 * 1000) };
// Merges of four parts and up, so that several happen within the measured window.
const COMPACTION_ON = { COMPACTION_INTERVAL_MS: '1000', COMPACTION_MIN_PARTS: '4' };

async function ingestHeaders(plane: RunningPlane): Promise<Record<string, string>> {
  metricsHeaders = await adminHeaders(plane);
  // Clients authenticate as a real ingestion client would: a writer API key (verified by scrypt once, then cached).
  const { headers } = await tenantKeyHeaders(plane, 'bench');
  return { ...headers, 'content-type': 'application/json' };
}

const batchBody = (base: number) => (w: number, s: number) => JSON.stringify(Array.from({ length: 1000 }, (_, k) => row((base + w * 1_000_000 + s) * 1000 + k)));

interface Sustained {
  appliedPerSecond: number;
  /** Most rows waiting for the applier at once during the window. */
  peakBacklogRows: number;
  acks: LoadResult;
  longestGapSeconds: number;
  rewrittenRows: number;
}

/** Batches posted for sustainedMs against the pending cap; applied rows/s measured after the first 5 s. */
async function sustained(plane: RunningPlane, headers: Record<string, string>, base: number): Promise<Sustained> {
  const samples: Array<{ t: number; applied: number; acked: number }> = [];
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const text = await metricsText(plane);
      samples.push({ t: performance.now(), applied: metricOf(text, 'applier_rows_applied_total'), acked: metricOf(text, 'ingest_rows_total{tenant="bench"}') });
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const acks = await runLoad({
    origin: plane.url('tenant-node', ''),
    path: '/data?table=sustained',
    concurrency: 8,
    durationMs: sustainedMs,
    headers,
    body: batchBody(base),
    expectStatus: 201,
    backoffMs: 100,
  });
  done = true;
  await sampler;
  const from = samples.find((x) => x.t >= samples[0]!.t + 5000) ?? samples[0]!;
  const to = samples[samples.length - 1]!;
  const text = await metricsText(plane);
  const first = samples[0]!;
  return {
    appliedPerSecond: (to.applied - from.applied) / ((to.t - from.t) / 1000),
    peakBacklogRows: Math.max(...samples.map((x) => x.acked - first.acked - (x.applied - first.applied))),
    acks,
    longestGapSeconds: metricOf(text, 'applier_longest_commit_gap_seconds'),
    rewrittenRows: metricOf(text, 'compaction_rows_rewritten_total'),
  };
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Server mode: the server is killed under load for `outageSeconds` and restarted; the plane's RSS is sampled throughout. */
async function outage(): Promise<string> {
  const server = await startClickHouseServer();
  if ('skipped' in server) return `RSS under a ClickHouse outage: skipped (${server.skipped})`;
  let current = server;
  const plane = await startPlane({ env: { ...PLANE_ENV, ...COMPACTION_OFF, INGEST_MAX_PENDING_ROWS: '2000000', CLICKHOUSE_URL: server.url, CLICKHOUSE_DATABASE: 'bench' } });
  try {
    const headers = await ingestHeaders(plane);
    const opts: LoadOptions = { origin: plane.url('tenant-node', ''), path: '/data', concurrency: 4, durationMs: warmMs, headers, body: batchBody(7_000_000), expectStatus: 201, backoffMs: 100 };
    await runLoad(opts);
    await waitIdle(plane);
    const before = rssBytes(plane.pid);
    await server.kill();
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, rssBytes(plane.pid));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const during = await runLoad({ ...opts, durationMs: outageSeconds * 1000, body: batchBody(8_000_000) });
    const stats = (await (await fetch(plane.url('tenant-node', '/data/stats'), { headers })).json()) as { pendingRows: number };
    sampling = false;
    await sampler;
    current = await restartClickHouseServer(server);
    const t0 = performance.now();
    await waitIdle(plane);
    const drainSeconds = (performance.now() - t0) / 1000;
    const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;
    return (
      `RSS under a ${outageSeconds} s ClickHouse outage (server mode, 4 clients of 1,000-row batches): peak ${mb(peak)} (${mb(before)} before); ` +
      `${f(during.requests * 1000)} rows acknowledged during it, then ${f(during.refused)} requests refused with 503 at ${f(stats.pendingRows)} pending rows ` +
      `(INGEST_MAX_PENDING_ROWS 2,000,000, INGEST_MAX_PENDING_BYTES default); drained in ${drainSeconds.toFixed(1)} s after the restart`
    );
  } finally {
    await plane.stop('SIGTERM');
    await plane.cleanup();
    await current.stop();
  }
}

console.log(`load average at start: ${load()} (${os.cpus().length} cores)`);
const raw = await rawBaselines(300_000);
console.log(`raw chdb insert (JSONEachRow, 10,000/insert): ${f(raw.insert)} rows/s`);
console.log(`raw chdb insert + Parquet file by chdb of the same rows, side by side (${f(BATCH_ROWS)} rows a batch, as the applier): ${f(raw.insertAndParquet)} rows/s`);

const plane = await startPlane({ env: { ...PLANE_ENV, ...COMPACTION_OFF } });
let singlePerSecond = 0;
try {
  const headers = await ingestHeaders(plane);
  const origin = plane.url('tenant-node', '');
  const batchedOpts: LoadOptions = { origin, path: '/data?table=batched', concurrency: 4, durationMs: phaseMs, headers, body: batchBody(0), expectStatus: 201 };
  // Warm up, then let the applier finish the warm-up rows: each measured phase starts with an idle applier.
  await runLoad({ ...batchedOpts, durationMs: 1000, body: batchBody(5_000_000) });
  await waitIdle(plane);
  const batched = await runLoad(batchedOpts);
  // Let the applier finish the batched backlog so the next phase measures the
  // acknowledge path, not a CPU shared with a busy applier; its drain rate is a figure too.
  const drainStart = performance.now();
  const appliedBefore = await metric(plane, 'applier_rows_applied_total');
  await waitIdle(plane);
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const appliedDuringDrain = (await metric(plane, 'applier_rows_applied_total')) - appliedBefore;

  const singleOpts: LoadOptions = { origin, path: '/data?table=single', concurrency: 64, durationMs: phaseMs, headers, body: (w, s) => JSON.stringify(row(900_000_000 + w * 10_000_000 + s)), expectStatus: 201 };
  await runLoad({ ...singleOpts, durationMs: warmMs, body: (w, s) => singleOpts.body(w, s + 5_000_000) });
  await waitIdle(plane);
  const fsyncsBefore = await metric(plane, 'wal_fsync_duration_seconds_count');
  const groupSumBefore = await metric(plane, 'wal_group_commit_size_sum');
  const single = await runLoad(singleOpts);
  singlePerSecond = single.perSecond;
  const fsyncs = (await metric(plane, 'wal_fsync_duration_seconds_count')) - fsyncsBefore;
  const grouped = (await metric(plane, 'wal_group_commit_size_sum')) - groupSumBefore;
  await waitIdle(plane);
  console.log(`batched durable POST /data (1,000 rows/request, 4 clients): ${f(batched.perSecond * 1000)} rows/s (${f(batched.perSecond)} req/s, p50 ${batched.p50Ms.toFixed(1)} ms, p99 ${batched.p99Ms.toFixed(1)} ms, errors ${batched.errors})`);
  console.log(`applier drain of that backlog once ingest stopped: ${drainSeconds.toFixed(1)} s (${f(appliedDuringDrain / Math.max(drainSeconds, 0.001))} rows/s)`);
  console.log(`single-record durable POST /data (64 clients): ${f(single.perSecond)} req/s (p50 ${single.p50Ms.toFixed(2)} ms, p99 ${single.p99Ms.toFixed(2)} ms, errors ${single.errors})`);
  console.log(`fsyncs during single-record run: ${f(fsyncs / single.seconds)}/s, mean group size ${(grouped / Math.max(1, fsyncs)).toFixed(1)} appends/fsync`);
  console.log(`acknowledged ratio (batched / raw insert): ${((batched.perSecond * 1000) / raw.insert).toFixed(2)} (goal >= 0.7)`);
} finally {
  await plane.stop('SIGTERM');
  await plane.cleanup();
}

/** A fresh plane for each sustained run, so each one's longest gap is its own. */
async function sustainedRun(env: Record<string, string>, base: number): Promise<Sustained> {
  const p = await startPlane({ env: { ...PLANE_ENV, ...BOUNDED, ...env } });
  try {
    return await sustained(p, await ingestHeaders(p), base);
  } finally {
    await p.stop('SIGTERM');
    await p.cleanup();
  }
}
// Off, on, off, on: the machine's load drifts, and alternating keeps that from reading as compaction's cost.
const runs: Array<{ off: Sustained; on: Sustained }> = [];
for (let k = 0; k < 2; k++) runs.push({ off: await sustainedRun(COMPACTION_OFF, 10_000_000 + 20_000_000 * k), on: await sustainedRun(COMPACTION_ON, 20_000_000 + 20_000_000 * k) });
const meanOf = (pick: (r: { off: Sustained; on: Sustained }) => Sustained): Sustained => {
  const all = runs.map(pick);
  const mean = (f: (s: Sustained) => number) => all.reduce((t, s) => t + f(s), 0) / all.length;
  return {
    appliedPerSecond: mean((s) => s.appliedPerSecond),
    peakBacklogRows: Math.max(...all.map((s) => s.peakBacklogRows)),
    acks: { ...all[0]!.acks, perSecond: mean((s) => s.acks.perSecond), p50Ms: mean((s) => s.acks.p50Ms), p99Ms: mean((s) => s.acks.p99Ms), refused: mean((s) => s.acks.refused) },
    longestGapSeconds: Math.max(...all.map((s) => s.longestGapSeconds)),
    rewrittenRows: mean((s) => s.rewrittenRows),
  };
};
const sustainedOff = meanOf((r) => r.off);
const sustainedOn = meanOf((r) => r.on);
for (const [k, r] of runs.entries()) {
  console.log(`  sustained run ${k + 1}: off ${f(r.off.appliedPerSecond)} rows/s (ack p99 ${r.off.acks.p99Ms.toFixed(0)} ms), on ${f(r.on.appliedPerSecond)} rows/s (ack p99 ${r.on.acks.p99Ms.toFixed(0)} ms)`);
}
const describe = (s: Sustained) =>
  `${f(s.appliedPerSecond)} rows/s applied (backlog up to ${f(s.peakBacklogRows)} rows; acks ${f(s.acks.perSecond * 1000)} rows/s, ` +
  `p50 ${s.acks.p50Ms.toFixed(1)} ms, p99 ${s.acks.p99Ms.toFixed(1)} ms, ${f(s.acks.refused)} requests pushed back)`;
console.log(`sustained, backlog bounded at ${f(PENDING_CAP_ROWS)} rows, ${sustainedMs / 1000} s, mean of two runs, compaction off: ${describe(sustainedOff)}; longest applier gap ${sustainedOff.longestGapSeconds.toFixed(2)} s`);
console.log(`sustained, compaction on (every 1 s, merges of 4+ parts, ${f(sustainedOn.rewrittenRows)} rows rewritten): ${describe(sustainedOn)}`);
console.log(`sustained ratio (applied / raw insert + Parquet): ${(sustainedOff.appliedPerSecond / raw.insertAndParquet).toFixed(2)} compaction off, ${(sustainedOn.appliedPerSecond / raw.insertAndParquet).toFixed(2)} on (goal >= 0.7)`);
console.log(
  `compaction's cost: drain ${((sustainedOn.appliedPerSecond / sustainedOff.appliedPerSecond - 1) * 100).toFixed(0)}%, ack p99 ${((sustainedOn.acks.p99Ms / sustainedOff.acks.p99Ms - 1) * 100).toFixed(0)}% (goal within 10%)`,
);
console.log(`longest applier gap with compaction (between commits, backlog waiting): ${sustainedOn.longestGapSeconds.toFixed(2)} s (goal < 2 s)`);

const empty = await emptyRoute();
console.log(`empty express route parsing the same JSON (64 clients): ${f(empty.perSecond)} req/s (p50 ${empty.p50Ms.toFixed(2)} ms)`);
console.log(`ratio single / empty route: ${(singlePerSecond / empty.perSecond).toFixed(2)} (goal >= 0.7)`);
console.log(await outage());
console.log(`load average at end: ${load()}`);
