// How every shard and replica of the cluster is doing, for /nodes/status, the
// dashboard, metrics and alerts: whether it answers, whether its tables are
// read-only, its replication queue and delay, its last error, whether it
// reaches ZooKeeper, how many columns its tables trail the table's columns in
// ZooKeeper (18.16 does not bring back a replica more than two columns behind
// until an operator sets force_restore_data), and whether this process sends
// it calls (in rotation, or held until it has every table and column).
//
// Read from any live node (remote() to each replica, system.zookeeper for the
// columns each replica has registered), every STATUS interval and on demand.
import type { Logger } from 'pino';
import type { ClusterMetrics } from './cluster-metrics.js';
import { zooKeeperColumnNames } from './cluster-inventory.js';
import type { ClusterLayout, ClusterSchema, ClusterTableState } from './cluster-schema.js';
import { readReplicaHealth, type ReplicaHealth } from './cluster-topology.js';
import type { MultiNodeEngine } from './multi-node-engine.js';
import { quoteString } from './sql-literal.js';

export interface ReplicaStatus extends ReplicaHealth {
  /** Its `replica` macro, when it has been seen. */
  name?: string;
  /** The CLICKHOUSE_URL that reaches it, when known. */
  url?: string;
  /** Calls go to it (false: held until brought up to date, or quarantined). */
  inRotation?: boolean;
  /** Why it is held, when it is. */
  held?: string;
  /** Most columns any of its tables lacks against the table's columns in ZooKeeper. */
  columnsBehind: number;
}

export interface ClusterStatus {
  cluster: string;
  insertQuorum: number;
  checkedAt: string;
  /** Some live replica reaches ZooKeeper ('unknown' when no replica answers). */
  zooKeeper: 'ok' | 'unreachable' | 'unknown';
  shards: Array<{ shard: number; replicas: ReplicaStatus[] }>;
}

export interface ClusterMonitorOptions {
  engine: MultiNodeEngine;
  schema: ClusterSchema;
  layout: () => ClusterLayout;
  metrics: ClusterMetrics;
  logger: Logger;
  /** CLICKHOUSE_DATABASE: only replicated tables of this product count. */
  base: string;
  username?: string;
  password?: string;
  intervalMs: number;
}

export class ClusterMonitor {
  private lastStatus?: ClusterStatus;
  private timer?: NodeJS.Timeout;
  private running?: Promise<ClusterStatus>;
  /** `shard/replica_num` → replica macro, remembered from when the replica last answered. */
  private readonly names = new Map<string, string>();

  constructor(private readonly opts: ClusterMonitorOptions) {}

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.refresh()
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'cluster status could not be read'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.opts.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  last(): ClusterStatus | undefined {
    return this.lastStatus;
  }

  /** Reads the status now (one read at a time; callers during a read share it). */
  refresh(): Promise<ClusterStatus> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(): Promise<ClusterStatus> {
    const { engine, base } = this.opts;
    const layout = this.opts.layout();
    const health = await readReplicaHealth(engine, layout.topology, {
      databasePrefix: `${base}_local__`,
      ...(this.opts.username !== undefined ? { username: this.opts.username, password: this.opts.password ?? '' } : {}),
      timeoutSeconds: 3,
    });
    const identities = [...layout.identities.values()];
    const standings = new Map(engine.standings().map((s) => [s.url, s]));
    const behind = await this.columnsBehind(health);
    const replicas: ReplicaStatus[] = health.map((h) => {
      const slot = `${h.shard}/${h.replica}`;
      if (h.macros?.replica) this.names.set(slot, h.macros.replica);
      const name = this.names.get(slot);
      const id = name === undefined ? undefined : identities.find((i) => i.shard === h.shard && i.replica === name);
      const standing = id ? standings.get(id.url) : undefined;
      return {
        ...h,
        ...(name !== undefined ? { name } : {}),
        ...(id ? { url: id.url } : {}),
        ...(standing ? { inRotation: standing.held === undefined && standing.state === 'up' } : {}),
        ...(standing?.held !== undefined ? { held: standing.held } : {}),
        columnsBehind: behind.get(slot) ?? 0,
      };
    });
    const up = replicas.filter((r) => r.up);
    const status: ClusterStatus = {
      cluster: layout.topology.cluster,
      insertQuorum: layout.quorum,
      checkedAt: new Date().toISOString(),
      zooKeeper: up.length === 0 ? 'unknown' : up.some((r) => r.zooKeeper === 'ok') ? 'ok' : 'unreachable',
      shards: layout.topology.shards.map((s) => ({ shard: s.shard, replicas: replicas.filter((r) => r.shard === s.shard) })),
    };
    this.lastStatus = status;
    this.opts.metrics.set(status);
    return status;
  }

  /**
   * Per replica (`shard/replica_num`), the most columns any known table of it
   * lacks: its own column list in ZooKeeper against the table's. Kept there
   * by each replica as it applies ALTERs, so it is known for a replica that
   * is down. Replicas are matched to the topology by their TCP port.
   */
  private async columnsBehind(health: ReplicaHealth[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const layout = this.opts.layout();
    const tables = this.opts.schema.knownTables();
    if (tables.length === 0 || !health.some((h) => h.up && h.zooKeeper === 'ok')) return out;
    for (const s of layout.topology.shards) {
      const shardMacro = [...layout.identities.values()].find((i) => i.shard === s.shard)?.shardMacro;
      if (shardMacro === undefined) continue;
      for (const t of tables) {
        try {
          for (const [replica, n] of await this.tableColumnsBehind(t, shardMacro)) {
            const addr = s.replicas.find((r) => r.port === replica.tcpPort && (r.host === replica.host || s.replicas.filter((x) => x.port === replica.tcpPort).length === 1));
            if (!addr) continue;
            const slot = `${s.shard}/${addr.replica}`;
            out.set(slot, Math.max(out.get(slot) ?? 0, n));
          }
        } catch (err) {
          this.opts.logger.debug({ err, tenant: t.tenant, table: t.table, shard: s.shard }, 'columns behind not read');
        }
      }
    }
    return out;
  }

  private async tableColumnsBehind(t: ClusterTableState, shardMacro: string): Promise<Array<[{ host: string; tcpPort: number }, number]>> {
    const { engine } = this.opts;
    const path = this.opts.schema.zooKeeperPath(t, shardMacro);
    const [table] = await engine.query<{ value: string }>(`SELECT value FROM system.zookeeper WHERE path = ${quoteString(path)} AND name = 'columns'`);
    if (!table) return [];
    const want = zooKeeperColumnNames(table.value);
    const replicas = await engine.query<{ name: string }>(`SELECT name FROM system.zookeeper WHERE path = ${quoteString(`${path}/replicas`)}`);
    const out: Array<[{ host: string; tcpPort: number }, number]> = [];
    for (const r of replicas) {
      const rows = await engine.query<{ name: string; value: string }>(
        `SELECT name, value FROM system.zookeeper WHERE path = ${quoteString(`${path}/replicas/${r.name}`)} AND name IN ('columns', 'host')`,
      );
      const cols = rows.find((x) => x.name === 'columns')?.value;
      const host = rows.find((x) => x.name === 'host')?.value ?? '';
      const tcpPort = Number(/^tcp_port: (\d+)$/m.exec(host)?.[1] ?? NaN);
      const hostName = /^host: (.*)$/m.exec(host)?.[1] ?? '';
      if (cols === undefined || !Number.isFinite(tcpPort)) continue;
      const have = new Set(zooKeeperColumnNames(cols));
      out.push([{ host: hostName, tcpPort }, want.filter((c) => !have.has(c)).length]);
    }
    return out;
  }
}
