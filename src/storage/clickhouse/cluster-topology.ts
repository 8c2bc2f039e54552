// What the cluster looks like and how each replica is doing, read from the
// servers themselves: the shards and replicas of the configured cluster from
// system.clusters, and per replica (reached with remote() from whichever node
// answers, so one live node is enough to see them all) whether it answers,
// its macros, whether its tables are read-only (lost ZooKeeper), its
// replication queue, its delay and its last replication error.
// 18.16 has no tcpPort() or getMacro(), and its system.clusters marks every
// replica of the local shard as local, so a replica is told apart by its
// host:port and its own system.macros.

import { Errors } from '../../platform/errors.js';
import type { ClickHouseEngine } from './clickhouse-engine.js';
import { quoteString } from './sql-literal.js';

export interface ClusterReplicaAddress {
  /** 1-based, as in system.clusters. */
  shard: number;
  replica: number;
  host: string;
  /** The native (TCP) port, as in remote_servers. */
  port: number;
}

export interface ClusterShard {
  shard: number;
  weight: number;
  replicas: ClusterReplicaAddress[];
}

export interface ClusterTopology {
  cluster: string;
  shards: ClusterShard[];
}

export interface ReplicaHealth extends ClusterReplicaAddress {
  /** It answered a query (through remote() from another node). */
  up: boolean;
  /** Its `shard` and `replica` macros, when it answered. */
  macros?: { shard?: string; replica?: string };
  /** Whether it reaches ZooKeeper ('unknown' when it is down). */
  zooKeeper: 'ok' | 'unreachable' | 'unknown';
  /** Replicated tables it holds (of the databases asked about). */
  tables: number;
  /** Some replicated table refuses writes (flagged read-only, or ZooKeeper unreachable). */
  readOnly: boolean;
  /** Entries waiting in its replication queues, summed over tables. */
  queueSize: number;
  /** Largest absolute_delay over its tables, seconds behind the freshest replica. */
  absoluteDelaySeconds: number;
  /** Why it is down, or its most recent replication error. */
  lastError?: string;
}

export interface ReplicaHealthOptions {
  /** Credentials remote() connects with; the cluster's default user when absent. */
  username?: string;
  password?: string;
  /** Only replicated tables in databases whose name starts with this count. */
  databasePrefix?: string;
  /** Bound on reaching one replica, so a black-holed host cannot stall the status page. */
  timeoutSeconds?: number;
}

/** The configured cluster's shards and replicas; fails clearly when the servers do not know the name. */
export async function readClusterTopology(engine: ClickHouseEngine, cluster: string): Promise<ClusterTopology> {
  const rows = await engine.query<{ shard_num: number; shard_weight: number; replica_num: number; host_name: string; port: number }>(
    'SELECT shard_num, shard_weight, replica_num, host_name, port FROM system.clusters ' +
      `WHERE cluster = ${quoteString(cluster)} ORDER BY shard_num, replica_num`,
  );
  if (rows.length === 0) {
    const known = await engine.query<{ cluster: string }>('SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster');
    throw Errors.storageFailure(
      `ClickHouse has no cluster named ${JSON.stringify(cluster)} in remote_servers (it has: ${known.map((k) => k.cluster).join(', ') || 'none'})`,
    );
  }
  const shards = new Map<number, ClusterShard>();
  for (const r of rows) {
    const shard = Number(r.shard_num);
    let s = shards.get(shard);
    if (!s) {
      s = { shard, weight: Number(r.shard_weight), replicas: [] };
      shards.set(shard, s);
    }
    s.replicas.push({ shard, replica: Number(r.replica_num), host: r.host_name, port: Number(r.port) });
  }
  return { cluster, shards: [...shards.values()] };
}

/**
 * The insert_quorum one INSERT through the Distributed table can use: every
 * shard must be able to meet it, so it is at most the smallest shard's replica
 * count. 'majority' is the smallest shard's majority (2 of 3, 2 of 2, 3 of 5).
 */
export function resolveInsertQuorum(topology: ClusterTopology, configured: number | 'majority'): number {
  const smallest = topology.shards.reduce((min, s) => Math.min(min, s.replicas.length), Number.POSITIVE_INFINITY);
  if (configured === 'majority') return Math.floor(smallest / 2) + 1;
  const short = topology.shards.find((s) => s.replicas.length < configured);
  if (short) {
    throw Errors.storageFailure(
      `CLICKHOUSE_INSERT_QUORUM=${configured}, but shard ${short.shard} of cluster ${topology.cluster} has only ${short.replicas.length} replica(s): no insert could be acknowledged`,
    );
  }
  return configured;
}

/** Health of every replica of the topology, read in parallel; a replica that cannot be reached is reported down, never thrown. */
export async function readReplicaHealth(
  engine: ClickHouseEngine,
  topology: ClusterTopology,
  opts: ReplicaHealthOptions = {},
): Promise<ReplicaHealth[]> {
  const replicas = topology.shards.flatMap((s) => s.replicas);
  return Promise.all(replicas.map((r) => readOneReplica(engine, r, opts)));
}

async function readOneReplica(engine: ClickHouseEngine, r: ClusterReplicaAddress, opts: ReplicaHealthOptions): Promise<ReplicaHealth> {
  const timeout = opts.timeoutSeconds ?? 3;
  const settings = ` SETTINGS connect_timeout = ${timeout}, receive_timeout = ${timeout}, send_timeout = ${timeout}`;
  const from = (table: string) => {
    const credentials =
      opts.username !== undefined ? `, ${quoteString(opts.username)}, ${quoteString(opts.password ?? '')}` : '';
    return `remote(${quoteString(`${r.host}:${r.port}`)}, system, ${table}${credentials})`;
  };
  // substring() counts bytes, hence byteLength.
  const ours = opts.databasePrefix !== undefined
    ? `substring(database, 1, ${Buffer.byteLength(opts.databasePrefix)}) = ${quoteString(opts.databasePrefix)}`
    : '1';
  const down = (err: unknown): ReplicaHealth => ({
    ...r,
    up: false,
    zooKeeper: 'unknown',
    tables: 0,
    readOnly: false,
    queueSize: 0,
    absoluteDelaySeconds: 0,
    lastError: err instanceof Error ? err.message : String(err),
  });

  let macros: { macro: string; substitution: string }[];
  try {
    macros = await engine.query(`SELECT macro, substitution FROM ${from('macros')}${settings}`);
  } catch (err) {
    return down(err);
  }
  const [replicas, lastException, zk] = await Promise.allSettled([
    engine.query<{ tables: string; read_only: number; queue: string; delay: string }>(
      `SELECT count() AS tables, max(is_readonly) AS read_only, sum(queue_size) AS queue, max(absolute_delay) AS delay FROM ${from('replicas')} WHERE ${ours}${settings}`,
    ),
    engine.query<{ e: string }>(
      `SELECT last_exception AS e FROM ${from('replication_queue')} WHERE last_exception != '' AND ${ours}` +
        ` ORDER BY last_attempt_time DESC LIMIT 1${settings}`,
    ),
    engine.query(`SELECT name FROM ${from('zookeeper')} WHERE path = '/' LIMIT 1${settings}`),
  ]);
  // Between the macros and these the replica may have died: that is "down", not an error of ours.
  if (replicas.status === 'rejected') return down(replicas.reason);
  const row = replicas.value[0];
  const tables = Number(row?.tables ?? 0);
  const zooKeeper = zk.status === 'fulfilled' ? 'ok' : 'unreachable';
  const lastError =
    lastException.status === 'fulfilled' && lastException.value[0]?.e
      ? lastException.value[0].e
      : zooKeeper === 'unreachable' && zk.status === 'rejected'
        ? messageOf(zk.reason)
        : undefined;
  return {
    ...r,
    up: true,
    macros: Object.fromEntries(macros.filter((m) => m.macro === 'shard' || m.macro === 'replica').map((m) => [m.macro, m.substitution])),
    zooKeeper,
    tables,
    // A replicated table cannot take writes without ZooKeeper, whether or not
    // the server has flagged it yet (18.16 flags it only once its session is
    // declared expired, and a replica still rejoining may never get that far).
    readOnly: Number(row?.read_only ?? 0) === 1 || (tables > 0 && zooKeeper === 'unreachable'),
    queueSize: Number(row?.queue ?? 0),
    absoluteDelaySeconds: Number(row?.delay ?? 0),
    ...(lastError !== undefined ? { lastError } : {}),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
