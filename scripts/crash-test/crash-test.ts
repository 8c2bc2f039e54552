// Crash test: 64 concurrent clients ingest while the real control plane is
// SIGKILLed at random moments and restarted on the same DATA_DIR. Clients
// retry a failed record with the same data_id until it is acknowledged, as a
// real client would. At the end the plane is stopped and the sinks are read
// independently: ClickHouse through chdb on the instance's own data dir, and
// the Parquet files through ClickHouse's file(). Every acknowledged data_id
// must be there exactly once.
import { Session } from 'chdb';
import path from 'node:path';
import { quoteIdentifier, quoteString } from '../../src/storage/clickhouse/sql-literal.js';
import { clickhouseLocation, parquetTableSegments } from '../../src/storage/physical-names.js';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../../test/helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../../test/helpers/temp-dir.js';

export interface CrashTestOptions {
  cycles: number;
  clients: number;
  minUptimeMs: number;
  maxUptimeMs: number;
  log?: (line: string) => void;
  /** More environment for the plane (cluster mode: CLICKHOUSE_URL, CLICKHOUSE_CLUSTER, …). */
  env?: Record<string, string>;
  /** Counts per data_id in ClickHouse when it is not the embedded engine in the data dir (cluster mode). */
  countClickHouse?: (tenant: string) => Promise<Map<string, number>>;
}

export interface CrashTestResult {
  cycles: number;
  acknowledged: number;
  foundClickHouse: number;
  foundParquet: number;
  lostClickHouse: number;
  lostParquet: number;
  duplicatedClickHouse: number;
  duplicatedParquet: number;
  requestsFailed: number;
  /** Longest time between two applier commits while records were waiting, over every run (compaction on throughout). */
  longestCommitGapSeconds: number;
}

const TENANT = 'crash';
// The auth gateway runs too: the tenant and its writer API key are created on the first start and persist across kills.
// Compaction runs every 300 ms so that kills also land between a compaction's
// catalog swap and its file deletes; monitoring serves the applier's longest
// gap between commits, read before each kill.
const PLANE_ENV = {
  SERVICES: 'tenant-node,auth-gateway,monitoring',
  APPLIER_INTERVAL_MS: '20',
  COMPACTION_INTERVAL_MS: '300',
  COMPACTION_MIN_PARTS: '2',
  LOG_LEVEL: 'warn',
};

export async function runCrashTest(opts: CrashTestOptions): Promise<CrashTestResult> {
  const log = opts.log ?? (() => {});
  const dataDir = makeTempDir('crash-test');
  const acked = new Set<string>();
  // Batches whose request the kill cut off: resent with the same data_ids after the restart.
  const pendingRetries: string[][] = [];
  let failed = 0;
  let plane: RunningPlane | undefined;
  let headers: Record<string, string> | undefined;
  let longestGap = 0;
  const readGap = async (p: RunningPlane) => {
    try {
      const res = await fetch(p.url('monitoring', '/metrics'), { headers: await adminHeaders(p), signal: AbortSignal.timeout(2000) });
      const m = /^applier_longest_commit_gap_seconds ([0-9.e+-]+)$/m.exec(await res.text());
      if (m) longestGap = Math.max(longestGap, Number(m[1]));
    } catch {
      // A plane too busy to answer in time: this run's gap is not counted.
    }
  };
  try {
    for (let cycle = 1; cycle <= opts.cycles; cycle++) {
      plane = await startPlane({ dataDir, env: { ...PLANE_ENV, ...opts.env } });
      headers ??= { ...(await tenantKeyHeaders(plane, TENANT)).headers, 'content-type': 'application/json' };
      const url = plane.url('tenant-node', '/data');
      const uptime = opts.minUptimeMs + Math.random() * (opts.maxUptimeMs - opts.minUptimeMs);
      let alive = true;
      const clients = Array.from({ length: opts.clients }, (_, c) =>
        (async () => {
          let i = 0;
          while (alive) {
            const id = `k${cycle}-c${c}-${i}`;
            // Every fifth request is a small batch, the rest single records.
            const batch = i % 5 === 0 ? [id, `${id}-b`, `${id}-c`] : [id];
            try {
              const res = await fetch(url, {
                method: 'POST',
                headers,
                body: JSON.stringify(batch.map((d) => ({ data_id: d, payload: { cycle, client: c, i } }))),
              });
              if (res.status === 201 || res.status === 200) {
                for (const d of batch) acked.add(d);
                i++;
              } else {
                failed++;
              }
            } catch {
              failed++;
              // Server gone: the id is retried in the next cycle under the same name via a resend below.
              if (!alive) {
                pendingRetries.push(batch);
                return;
              }
            }
          }
        })(),
      );
      // Records whose request failed when the server died are resent after the restart (same data_id).
      const resend = pendingRetries.splice(0);
      for (const batch of resend) {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(batch.map((d) => ({ data_id: d, payload: { resent: true } }))),
        });
        if (res.status === 201 || res.status === 200) for (const d of batch) acked.add(d);
      }
      await new Promise((r) => setTimeout(r, uptime));
      await readGap(plane);
      alive = false; // first, so requests cut by the kill are queued for resending
      plane.child.kill('SIGKILL');
      await plane.exited;
      await Promise.all(clients);
      log(`cycle ${cycle}/${opts.cycles}: killed after ${Math.round(uptime)} ms; acknowledged so far ${acked.size}`);
    }
    // Final start: replay, resend what was in flight, let the applier drain, stop cleanly.
    plane = await startPlane({ dataDir, env: { ...PLANE_ENV, ...opts.env } });
    headers ??= { ...(await tenantKeyHeaders(plane, TENANT)).headers, 'content-type': 'application/json' };
    for (const batch of pendingRetries.splice(0)) {
      const res = await fetch(plane.url('tenant-node', '/data'), {
        method: 'POST',
        headers,
        body: JSON.stringify(batch.map((d) => ({ data_id: d, payload: { resent: true } }))),
      });
      if (res.status === 201 || res.status === 200) for (const d of batch) acked.add(d);
    }
    // Let the replayed backlog drain with compaction running, then read the gap.
    for (let i = 0; i < 600; i++) {
      const res = await fetch(plane.url('monitoring', '/metrics'), { headers: await adminHeaders(plane) }).catch(() => undefined);
      if (res && /^applier_lag_wal_records 0$/m.test(await res.text())) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await readGap(plane);
    const code = await plane.stop('SIGTERM');
    if (code !== 0) throw new Error(`final graceful stop exited with ${code}:\n${plane.logs().slice(-3000)}`);

    const counts = await countInSinks(dataDir, opts.countClickHouse);
    const check = (found: Map<string, number>) => {
      let lost = 0;
      let duplicated = 0;
      for (const id of acked) if (!found.has(id)) lost++;
      for (const n of found.values()) if (n > 1) duplicated += n - 1;
      return { lost, duplicated };
    };
    const ch = check(counts.clickhouse);
    const pq = check(counts.parquet);
    return {
      cycles: opts.cycles,
      acknowledged: acked.size,
      foundClickHouse: counts.clickhouse.size,
      foundParquet: counts.parquet.size,
      lostClickHouse: ch.lost,
      lostParquet: pq.lost,
      duplicatedClickHouse: ch.duplicated,
      duplicatedParquet: pq.duplicated,
      requestsFailed: failed,
      longestCommitGapSeconds: longestGap,
    };
  } finally {
    await plane?.cleanup();
    removeTempDir(dataDir);
  }
}


async function countInSinks(dataDir: string, countClickHouse?: (tenant: string) => Promise<Map<string, number>>) {
  const session = new Session(path.join(dataDir, 'chdb'));
  try {
    const read = async (sql: string) => {
      const text = (await session.queryAsync(sql, { format: 'JSONEachRow' })).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (!line) continue;
        const row = JSON.parse(line) as { data_id: string; n: number | string };
        out.set(row.data_id, Number(row.n));
      }
      return out;
    };
    // Physical names from the one module that owns them (the default CLICKHOUSE_DATABASE is the base).
    const table = clickhouseLocation('control_plane', TENANT, 'events');
    const clickhouse = countClickHouse
      ? await countClickHouse(TENANT)
      : await read(`SELECT data_id, count() AS n FROM ${quoteIdentifier(table.database)}.${quoteIdentifier(table.table)} GROUP BY data_id`);
    const glob = path.join(dataDir, 'parquet', ...parquetTableSegments(TENANT, 'events'), '*', '*.parquet');
    const parquet = await read(`SELECT data_id, count() AS n FROM file(${quoteString(glob)}, Parquet) GROUP BY data_id`);
    return { clickhouse, parquet };
  } finally {
    session.close();
  }
}
