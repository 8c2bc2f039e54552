// Cluster-mode figures, side by side from one run (issue 15, point 8):
//   sustained ingest into one clickhouse-server vs into the cluster: the same
//   rows posted in batches, timed until the applier has applied them all;
//   query latency through the Distributed tables vs the same data on one server;
//   under failures, each with acknowledged / lost / duplicated records (lost
//   and duplicated must be 0): a replica of a 3-replica shard killed and
//   restarted under load (longest applier stall), a replica of a 2-replica
//   shard with quorum 2 (the applier waits; catch-up time after it returns),
//   ZooKeeper killed and restarted (time until inserts resume, and until
//   the applier has caught up).
// Servers: ZooKeeper + 2 shards x 3 replicas of clickhouse-server 18.16 on
// loopback, and one more server; control planes on free ports and temp dirs.
// Usage: node --import tsx scripts/bench/cluster.ts [rows=200000] [outage seconds=10]
import os from 'node:os';
import { startClickHouseCluster, type RunningClickHouseCluster } from '../../test/helpers/clickhouse-cluster.js';
import { startClickHouseServer } from '../../test/helpers/clickhouse-server.js';
import { checkExactlyOnce, IngestLoad, metricValues, NodeClients, waitApplied } from '../../test/helpers/cluster-checks.js';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../../test/helpers/control-plane-process.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const OUTAGE_MS = Number(process.argv[3] ?? 10) * 1000;
const BATCH = 1000;
const CLIENTS = 4;
const TENANT = 'bench';
const QUERIES = [
  ['count', 'SELECT count() AS n FROM events'],
  ['group by', 'SELECT country, count() AS n, sum(amount) AS s FROM events GROUP BY country'],
  ['top 10', 'SELECT data_id, amount FROM events WHERE amount > 900 ORDER BY amount DESC, data_id LIMIT 10'],
  ['point', "SELECT data_id, amount FROM events WHERE data_id = 'bulk-c1-7-3'"],
] as const;
const QUERY_RUNS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadAvg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

const PLANE_ENV = { SERVICES: 'tenant-node,operation-node,monitoring', LOG_LEVEL: 'warn', APPLIER_INTERVAL_MS: '50', INGEST_ROWS_PER_SECOND: '1000000', INGEST_BURST_ROWS: '1000000' };

interface Plane {
  plane: RunningPlane;
  tenant: Record<string, string>;
  admin: Record<string, string>;
}

async function plane(env: Record<string, string>): Promise<Plane> {
  const p = await startPlane({ env: { ...PLANE_ENV, ...env } });
  return { plane: p, tenant: (await tenantKeyHeaders(p, TENANT, { limits: { ingestRowsPerSecond: 1_000_000, ingestBurstRows: 1_000_000 } })).headers, admin: await adminHeaders(p) };
}

/** Posts ROWS rows in batches and times them until applied: rows/s end to end. */
async function sustainedIngest(p: Plane): Promise<{ rowsPerSecond: number; ackedPerSecond: number }> {
  const load = new IngestLoad({
    url: () => p.plane.url('tenant-node', '/data'),
    headers: p.tenant,
    clients: CLIENTS,
    prefix: 'bulk',
    batchRows: BATCH,
    batchEvery: 1,
    requestsPerClient: Math.ceil(ROWS / BATCH / CLIENTS),
  });
  const t0 = performance.now();
  load.start();
  await load.done();
  const acked = performance.now();
  await waitApplied(p.plane, p.tenant, 600_000);
  const applied = performance.now();
  return { rowsPerSecond: load.acked.size / ((applied - t0) / 1000), ackedPerSecond: load.acked.size / ((acked - t0) / 1000) };
}

async function queryLatency(p: Plane): Promise<Record<string, { p50: number; p99: number }>> {
  const out: Record<string, { p50: number; p99: number }> = {};
  for (const [name, sql] of QUERIES) {
    const ms: number[] = [];
    for (let i = 0; i < QUERY_RUNS + 3; i++) {
      const t0 = performance.now();
      const res = await fetch(p.plane.url('operation-node', '/query/execute'), {
        method: 'POST',
        headers: { ...p.tenant, 'content-type': 'application/json' },
        body: JSON.stringify({ sql }),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${name}: ${res.status} ${text}`);
      if (i >= 3) ms.push(performance.now() - t0); // the first runs warm caches
    }
    ms.sort((a, b) => a - b);
    out[name] = { p50: ms[Math.floor(ms.length / 2)]!, p99: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]! };
  }
  return out;
}

/** Samples the applier's checkpoint every 100 ms: the longest time it stood still with records waiting. */
class ProgressProbe {
  private timer?: NodeJS.Timeout;
  private lastLsn = -1;
  private since = 0;
  longestStallMs = 0;
  readonly samples: Array<{ t: number; lsn: number; lag: number }> = [];

  constructor(private readonly p: Plane) {}

  start(): void {
    const tick = async () => {
      try {
        const text = await (await fetch(this.p.plane.url('monitoring', '/metrics'), { headers: this.p.admin })).text();
        const lsn = metricValues(text, 'applier_checkpoint_lsn').get('') ?? 0;
        const lag = metricValues(text, 'applier_lag_wal_records').get('') ?? 0;
        const t = Date.now();
        this.samples.push({ t, lsn, lag });
        if (lsn !== this.lastLsn || lag === 0) {
          this.lastLsn = lsn;
          this.since = t;
        }
        this.longestStallMs = Math.max(this.longestStallMs, t - this.since);
      } catch {
        // a sample lost is a sample lost
      }
      if (this.timer) this.timer = setTimeout(tick, 100);
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** First time at or after `from` the checkpoint moved (inserts resumed). */
  advancedAfter(from: number): number | undefined {
    const before = [...this.samples].reverse().find((s) => s.t <= from)?.lsn ?? 0;
    return this.samples.find((s) => s.t > from && s.lsn > before)?.t;
  }
}

interface FailureRow {
  name: string;
  acknowledged: number;
  lost: number;
  duplicated: number;
  stallMs: number;
  afterReturnMs: string;
}

async function underFailure(
  p: Plane,
  name: string,
  prefix: string,
  fail: () => Promise<void>,
  recover: () => Promise<void>,
  check: (acked: Set<string>) => Promise<{ lost: number; duplicated: number }>,
  afterReturn: (probe: ProgressProbe, back: number) => Promise<string>,
): Promise<FailureRow> {
  const load = new IngestLoad({ url: () => p.plane.url('tenant-node', '/data'), headers: p.tenant, clients: 6, prefix });
  const probe = new ProgressProbe(p);
  probe.start();
  load.start();
  await sleep(3000);
  await fail();
  await sleep(OUTAGE_MS);
  await recover();
  const back = Date.now();
  // Watched from the moment it returns, while the load goes on.
  const watching = afterReturn(probe, back);
  await sleep(3000);
  await load.stop();
  await waitApplied(p.plane, p.tenant, 300_000);
  const after = await watching;
  probe.stop();
  const r = await check(load.acked);
  return { name, acknowledged: load.acked.size, lost: r.lost, duplicated: r.duplicated, stallMs: probe.longestStallMs, afterReturnMs: after };
}

async function main(): Promise<void> {
  console.log(`cluster bench: ${ROWS} rows in batches of ${BATCH} (${CLIENTS} clients), outages of ${OUTAGE_MS / 1000} s; load average at start ${loadAvg()}`);
  const single = await startClickHouseServer();
  if ('skipped' in single) throw new Error(single.skipped);
  const started = await startClickHouseCluster({ shards: 2, replicas: 3, name: 'cp_cluster', subsets: [{ name: 'cp_pair', replicas: 2 }] });
  if ('skipped' in started) throw new Error(started.skipped);
  const cluster: RunningClickHouseCluster = started;
  const nodes = new NodeClients(cluster);
  const planes: Plane[] = [];
  const rows: FailureRow[] = [];
  try {
    // One server, then the cluster: the same rows, the same queries.
    const one = await plane({ CLICKHOUSE_URL: single.url });
    planes.push(one);
    const oneIngest = await sustainedIngest(one);
    const oneQueries = await queryLatency(one);
    await one.plane.cleanup();
    await single.stop();

    const onCluster = await plane({ CLICKHOUSE_URL: cluster.urls.join(','), CLICKHOUSE_CLUSTER: 'cp_cluster' });
    planes.push(onCluster);
    const clusterIngest = await sustainedIngest(onCluster);
    const clusterQueries = await queryLatency(onCluster);
    const loadMid = loadAvg();

    const exactlyOnce = (base: string, replicas?: number) => async (acked: Set<string>) =>
      checkExactlyOnce(nodes, cluster, { base, tenant: TENANT, table: 'events', acked, ...(replicas ? { replicas } : {}) });
    // The first sample after `back` with nothing left to apply (the load runs 3 s past it, then stops).
    const lagZero = async (probe: ProgressProbe, back: number) => {
      for (let waited = 0; waited < 300_000; waited += 100) {
        const zero = probe.samples.find((s) => s.t > back && s.lag === 0)?.t;
        if (zero) return zero - back;
        await sleep(100);
      }
      return undefined;
    };
    const caughtUp = async (probe: ProgressProbe, back: number) => `caught up ${(await lagZero(probe, back)) ?? '?'} ms after it returned`;
    // With 3 replicas the quorum holds and nothing waits; what takes time is the replica's way back into rotation.
    const inRotation = (p: Plane, shard: number, replica: number) => async (_probe: ProgressProbe, back: number) => {
      for (;;) {
        const status = (await (await fetch(p.plane.url('operation-node', '/nodes/status'), { headers: p.admin })).json()) as {
          cluster?: { shards: Array<{ shard: number; replicas: Array<{ replica: number; inRotation?: boolean }> }> };
        };
        const r = status.cluster?.shards.find((s) => s.shard === shard)?.replicas.find((x) => x.replica === replica);
        if (r?.inRotation) return `back in rotation ${Date.now() - back} ms after it was restarted`;
        if (Date.now() - back > 120_000) return 'not back in rotation within 120 s';
        await sleep(200);
      }
    };
    rows.push(
      await underFailure(
        onCluster,
        'replica killed (3 replicas, quorum 2)',
        'kill3',
        () => cluster.killReplica(1, 2),
        () => cluster.restartReplica(1, 2),
        exactlyOnce('control_plane'),
        inRotation(onCluster, 1, 2),
      ),
    );
    rows.push(
      await underFailure(
        onCluster,
        'ZooKeeper killed',
        'zk',
        () => cluster.killZooKeeper(),
        () => cluster.restartZooKeeper(),
        exactlyOnce('control_plane'),
        async (probe, back) => {
          const zero = await lagZero(probe, back);
          const resumed = probe.advancedAfter(back);
          return `inserts resumed ${resumed ? resumed - back : '?'} ms after it returned, caught up after ${zero ?? '?'} ms`;
        },
      ),
    );
    await onCluster.plane.cleanup();

    const pair = await plane({
      CLICKHOUSE_URL: cluster.nodes.filter((n) => n.replica <= 2).map((n) => n.url).join(','),
      CLICKHOUSE_CLUSTER: 'cp_pair',
      CLICKHOUSE_DATABASE: 'pair',
      CLICKHOUSE_ZK_PATH_PREFIX: '/clickhouse/pair',
      CLICKHOUSE_INSERT_QUORUM: '2',
    });
    planes.push(pair);
    rows.push(await underFailure(pair, 'replica killed (2 replicas, quorum 2)', 'kill2', () => cluster.killReplica(1, 2), () => cluster.restartReplica(1, 2), exactlyOnce('pair', 2), caughtUp));

    const pad = (s: string, n: number) => s.padEnd(n);
    console.log('');
    console.log(`${pad('', 40)}${pad('one server', 16)}cluster (2 shards x 3 replicas, quorum 2)`);
    console.log(`${pad('sustained ingest, applied (rows/s)', 40)}${pad(oneIngest.rowsPerSecond.toFixed(0), 16)}${clusterIngest.rowsPerSecond.toFixed(0)}`);
    console.log(`${pad('  acknowledged by POST /data (rows/s)', 40)}${pad(oneIngest.ackedPerSecond.toFixed(0), 16)}${clusterIngest.ackedPerSecond.toFixed(0)}`);
    for (const [name] of QUERIES) {
      const a = oneQueries[name]!;
      const b = clusterQueries[name]!;
      console.log(`${pad(`query ${name} p50 / p99 (ms)`, 40)}${pad(`${a.p50.toFixed(1)} / ${a.p99.toFixed(1)}`, 16)}${b.p50.toFixed(1)} / ${b.p99.toFixed(1)}`);
    }
    console.log('');
    console.log(`${pad('under failure (outage ' + OUTAGE_MS / 1000 + ' s)', 40)}${pad('acknowledged', 14)}${pad('lost', 6)}${pad('dup', 6)}${pad('longest stall', 15)}after it returned`);
    for (const r of rows) {
      console.log(`${pad(r.name, 40)}${pad(String(r.acknowledged), 14)}${pad(String(r.lost), 6)}${pad(String(r.duplicated), 6)}${pad(`${r.stallMs} ms`, 15)}${r.afterReturnMs}`);
    }
    const total = rows.reduce((a, r) => ({ acknowledged: a.acknowledged + r.acknowledged, lost: a.lost + r.lost, duplicated: a.duplicated + r.duplicated }), { acknowledged: 0, lost: 0, duplicated: 0 });
    console.log(`${pad('total', 40)}${pad(String(total.acknowledged), 14)}${pad(String(total.lost), 6)}${pad(String(total.duplicated), 6)}`);
    console.log('');
    console.log(`load average: at start see above, after the ingest phases ${loadMid}, at the end ${loadAvg()} (${os.cpus().length} cores)`);
    if (total.lost + total.duplicated > 0) process.exitCode = 1;
  } finally {
    for (const p of planes) await p.plane.cleanup();
    await nodes.close();
    await cluster.stop();
    await single.stop().catch(() => undefined);
  }
}

await main();
