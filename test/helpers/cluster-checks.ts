// What the cluster-mode tests and `npm run bench:cluster` share: a closed-loop
// ingest load against a control plane's POST /data that retries a failed
// request with the same data_ids until it is acknowledged (as a real client
// does, so every id it counts as acknowledged got a 201 or 200), and checks
// read straight from the ClickHouse nodes: every acknowledged id exactly once
// through the Distributed table, and every live replica of a shard holding
// the same rows.
import assert from 'node:assert/strict';
import { ServerEngine } from '../../src/storage/clickhouse/server-engine.js';
import { quoteIdentifier } from '../../src/storage/clickhouse/sql-literal.js';
import { clickhouseLocation, clusterLocalLocation } from '../../src/storage/physical-names.js';
import { CLUSTER_TEST_DIAG, type RunningClickHouseCluster } from './clickhouse-cluster.js';
import { diagnoseShard } from './cluster-diagnosis.js';
import type { RunningPlane } from './control-plane-process.js';

export interface IngestLoadOptions {
  /** POST /data of the plane (asked each time: a restarted plane has new ports). */
  url: () => string;
  headers: Record<string, string>;
  clients: number;
  /** Prefix of every data_id, so runs against one table do not collide. */
  prefix: string;
  /** Rows of a batch request (default 3). */
  batchRows?: number;
  /** Every how many requests one is a batch (default 5: the others are one record; 1: all batches). */
  batchEvery?: number;
  /** Stop after this many requests per client (default: until stop()). */
  requestsPerClient?: number;
  /** Payload of the record with this data_id (default: a few promoted fields). */
  payload?: (id: string, n: number) => Record<string, unknown>;
  /** Record timestamp (default: arrival). */
  timestamp?: (n: number) => number | undefined;
  /** Pause between a client's requests, ms (default 0: back to back). */
  pauseMs?: number;
}

export class IngestLoad {
  readonly acked = new Set<string>();
  /** When each acknowledgement arrived (ms since epoch): did ingest keep acknowledging during an outage? */
  readonly ackTimes: number[] = [];
  readonly statuses = new Map<string, number>();
  private running = false;
  private clients: Promise<void>[] = [];
  private seq = 0;

  constructor(private readonly opts: IngestLoadOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.clients = Array.from({ length: this.opts.clients }, (_, c) => this.client(c));
  }

  /** Stops new requests; every request in flight is retried until acknowledged first. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients);
  }

  /** Resolves once every client has sent its requestsPerClient. */
  async done(): Promise<void> {
    await Promise.all(this.clients);
    this.running = false;
  }

  acksBetween(fromMs: number, toMs: number): number {
    return this.ackTimes.filter((t) => t >= fromMs && t < toMs).length;
  }

  private async client(c: number): Promise<void> {
    for (let i = 0; this.running && i < (this.opts.requestsPerClient ?? Infinity); i++) {
      const size = i % (this.opts.batchEvery ?? 5) === 0 ? (this.opts.batchRows ?? 3) : 1;
      const n = this.seq;
      this.seq += size;
      const ids = Array.from({ length: size }, (_, k) => `${this.opts.prefix}-c${c}-${i}-${k}`);
      const body = JSON.stringify(
        ids.map((id, k) => {
          const ts = this.opts.timestamp?.(n + k);
          return { data_id: id, payload: this.opts.payload?.(id, n + k) ?? { client: c, n: n + k, amount: (n + k) % 997, country: ['NL', 'DE', 'FR'][(n + k) % 3] }, ...(ts !== undefined ? { timestamp: ts } : {}) };
        }),
      );
      // Until acknowledged: the same ids again after a failure (a 503 under backpressure, a cut connection).
      for (let attempt = 0; ; attempt++) {
        let status = 'error';
        try {
          const res = await fetch(this.opts.url(), { method: 'POST', headers: { ...this.opts.headers, 'content-type': 'application/json' }, body });
          await res.text();
          status = String(res.status);
        } catch {
          // connection refused or reset: retried below
        }
        this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
        if (status === '201' || status === '200') {
          const now = Date.now();
          for (const id of ids) {
            this.acked.add(id);
            this.ackTimes.push(now);
          }
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(attempt, 5))));
      }
      if (this.opts.pauseMs) await new Promise((r) => setTimeout(r, this.opts.pauseMs));
    }
  }
}

/** Waits until the plane's applier has applied everything acknowledged (WAL lag 0), or fails after timeoutMs. */
export async function waitApplied(plane: RunningPlane, headers: Record<string, string>, timeoutMs = 120_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      const res = await fetch(plane.url('tenant-node', '/data/stats'), { headers });
      if (res.status === 200) {
        const body = (await res.json()) as { walLag: { records: number } };
        if (body.walLag.records === 0) return Date.now() - t0;
      }
    } catch {
      // the plane may be restarting
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`the applier did not catch up within ${timeoutMs} ms:\n${plane.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One engine per node of the cluster, opened on demand; close() closes them all. */
export class NodeClients {
  private readonly engines = new Map<string, ServerEngine>();

  constructor(private readonly cluster: RunningClickHouseCluster) {}

  async on(shard: number, replica: number): Promise<ServerEngine> {
    const node = this.cluster.node(shard, replica);
    let e = this.engines.get(node.url);
    if (!e) {
      e = new ServerEngine({ url: node.url, database: 'default', requestTimeoutMs: 60_000 });
      await e.open();
      this.engines.set(node.url, e);
    }
    return e;
  }

  async close(): Promise<void> {
    for (const e of this.engines.values()) await e.close();
    this.engines.clear();
  }
}

export interface ExactlyOnce {
  acknowledged: number;
  found: number;
  lost: number;
  duplicated: number;
  /** Rows per live replica, by `shard.replica`. */
  perReplica: Record<string, number>;
}

export interface TableOnCluster {
  base: string;
  tenant: string;
  table: string;
  /** Replicas per shard to read (a cluster over the first N replicas of each); default all. */
  replicas?: number;
  where?: string;
}

/**
 * Syncs every live replica of each shard and counts its rows; asserts the
 * live replicas of a shard agree. Returns rows per replica (`shard.replica`)
 * and their sum over shards.
 */
export async function convergedCounts(nodes: NodeClients, cluster: RunningClickHouseCluster, t: TableOnCluster): Promise<{ perReplica: Record<string, number>; total: number }> {
  const local = clusterLocalLocation(t.base, t.tenant, t.table);
  const localName = `${quoteIdentifier(local.database)}.${quoteIdentifier(local.table)}`;
  const perReplica: Record<string, number> = {};
  let total = 0;
  for (let s = 1; s <= cluster.shards; s++) {
    const counts: number[] = [];
    for (let r = 1; r <= (t.replicas ?? cluster.replicas); r++) {
      if (!cluster.node(s, r).alive()) continue;
      const e = await nodes.on(s, r);
      // Fetches what the shard's log holds (replicas that just returned may still be catching up).
      await e.exec(`SYSTEM SYNC REPLICA ${localName}`, { settings: { receive_timeout: 120 } });
      const [row] = await e.query<{ c: string }>(`SELECT count() AS c FROM ${localName} WHERE ${t.where ?? '1'}`);
      perReplica[`${s}.${r}`] = Number(row!.c);
      counts.push(Number(row!.c));
    }
    assert.ok(counts.length > 0, `no live replica of shard ${s}`);
    if (new Set(counts).size !== 1 && CLUSTER_TEST_DIAG) console.log(await diagnoseShard(nodes, cluster, t, s));
    assert.equal(new Set(counts).size, 1, `the live replicas of shard ${s} disagree: ${JSON.stringify(perReplica)}`);
    total += counts[0]!;
  }
  return { perReplica, total };
}

/** Every data_id through the Distributed table, with how often it is stored. */
export async function idCounts(nodes: NodeClients, cluster: RunningClickHouseCluster, t: TableOnCluster): Promise<Map<string, number>> {
  const dist = clickhouseLocation(t.base, t.tenant, t.table);
  const first = cluster.nodes.find((n) => n.alive() && n.replica <= (t.replicas ?? cluster.replicas))!;
  const e = await nodes.on(first.shard, first.replica);
  const rows = await e.query<{ id: string; n: string }>(
    `SELECT data_id AS id, count() AS n FROM ${quoteIdentifier(dist.database)}.${quoteIdentifier(dist.table)} WHERE ${t.where ?? '1'} GROUP BY data_id`,
  );
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

/**
 * Reads the table straight from the nodes: the live replicas of each shard
 * agree, the shards add up to what the Distributed table answers, and
 * against `acked`: how many are missing (lost) and how many stored twice.
 */
export async function checkExactlyOnce(
  nodes: NodeClients,
  cluster: RunningClickHouseCluster,
  opts: TableOnCluster & { acked: ReadonlySet<string> },
): Promise<ExactlyOnce> {
  const { perReplica, total: shardSum } = await convergedCounts(nodes, cluster, opts);
  const found = await idCounts(nodes, cluster, opts);
  const total = [...found.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, shardSum, 'the shards add up to what the Distributed table answers');
  let lost = 0;
  for (const id of opts.acked) if (!found.has(id)) lost++;
  let duplicated = 0;
  for (const n of found.values()) if (n > 1) duplicated += n - 1;
  return { acknowledged: opts.acked.size, found: found.size, lost, duplicated, perReplica };
}

/** Values of one metric series from a /metrics text, by its label string (`{shard="1",replica="2"}` or ''). */
export function metricValues(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+-]+|NaN)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

