// A ClickHouse cluster on one machine for the cluster-mode tests: one
// ZooKeeper and shards × replicas clickhouse-servers on loopback, each with
// its own free ports and temp dir, the same `remote_servers` definition, its
// own `macros` (shard, replica), the `zookeeper` section and a distributed DDL
// queue. Offers stop() (everything, temp dirs removed) and SIGKILL/restart of
// one replica (its data kept) or of ZooKeeper. When a binary is missing the
// caller gets { skipped } with the reason, like startClickHouseServer.

import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  findServerBinary,
  freePorts,
  NO_SERVER_BINARY,
  prepareServerDir,
  serverConfigXml,
  spawnServer,
  usersXml,
  type ServerBinary,
  type ServerProcess,
} from './clickhouse-process.js';
import { removeTempDir } from './temp-dir.js';
import { findZooKeeper, prepareZooKeeperDir, spawnZooKeeper, zooKeeperCli, type ZooKeeperBinary, type ZooKeeperProcess } from './zookeeper-process.js';

export interface ClusterOptions {
  shards?: number;
  replicas?: number;
  /** The name in every node's remote_servers (CLICKHOUSE_CLUSTER). */
  name?: string;
  /**
   * More clusters in every node's remote_servers, each over the first
   * `replicas` replicas of every shard: e.g. a 2-replica cluster on the same
   * servers (tests give it its own CLICKHOUSE_DATABASE and ZooKeeper prefix).
   */
  subsets?: ReadonlyArray<{ name: string; replicas: number }>;
}

export interface ClusterNode {
  /** 1-based, as in system.clusters and the `shard` macro. */
  readonly shard: number;
  readonly replica: number;
  /** The `replica` macro: unique within its shard (and here across the cluster). */
  readonly replicaName: string;
  readonly url: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly dir: string;
  alive(): boolean;
}

export interface RunningClickHouseCluster {
  readonly name: string;
  readonly shards: number;
  readonly replicas: number;
  /** Shard-major: s1r1, s1r2, …, s2r1, … */
  readonly nodes: readonly ClusterNode[];
  readonly urls: readonly string[];
  readonly zooKeeperPort: number;
  node(shard: number, replica: number): ClusterNode;
  /** SIGKILL one server; its data dir and ports stay for restartReplica. */
  killReplica(shard: number, replica: number): Promise<void>;
  /**
   * Starts a killed server again on its data. forceRestoreData drops the flag
   * file 18.16 needs to start a replicated table whose columns in ZooKeeper
   * differ from its own by more than two (columns added while it was down).
   */
  restartReplica(shard: number, replica: number, opts?: { forceRestoreData?: boolean }): Promise<void>;
  killZooKeeper(): Promise<void>;
  restartZooKeeper(): Promise<void>;
  /** One command of ZooKeeper's CLI (`deleteall /path`, `create /path`) against the cluster's ZooKeeper. */
  zooKeeperCli(...args: string[]): Promise<string>;
  /** Stops every process and removes every temp dir. */
  stop(): Promise<void>;
}

export type ClusterStartResult = RunningClickHouseCluster | { skipped: string };

// The probe measured about 150 MB per 18.16 server with small caches; seven of
// them share a 2-core machine with the tests, so caches, per-query memory and
// background pools are kept small.
const NODE_CACHE_BYTES = 16 * 1024 * 1024;
const NODE_PROFILE = [
  '<max_memory_usage>500000000</max_memory_usage>',
  '<background_pool_size>4</background_pool_size>',
  '<background_schedule_pool_size>4</background_schedule_pool_size>',
].join('\n      ');
// A short session (ZooKeeper allows 2..20 ticks of 500 ms) makes a lost
// ZooKeeper show as read-only replicas within seconds.
const ZK_SESSION_TIMEOUT_MS = 6000;
/**
 * CLUSTER_TEST_DIAG=1: nodes log at debug level, keep system.part_log and
 * query_log, and a shard whose replicas disagree is described (parts, where
 * their rows are, part_log) with the nodes' logs copied (cluster-diagnosis.ts).
 */
export const CLUSTER_TEST_DIAG = process.env.CLUSTER_TEST_DIAG === '1';
const PART_LOG_XML = '<part_log><database>system</database><table>part_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></part_log>';
export const DISTRIBUTED_DDL_PATH = '/clickhouse/task_queue/ddl';

interface NodeSlot {
  shard: number;
  replica: number;
  replicaName: string;
  dir: string;
  httpPort: number;
  tcpPort: number;
  interserverPort: number;
  proc: ServerProcess | undefined;
}

export async function startClickHouseCluster(opts: ClusterOptions = {}): Promise<ClusterStartResult> {
  const server = findServerBinary();
  if (!server) return { skipped: NO_SERVER_BINARY };
  const zk = findZooKeeper();
  if ('missing' in zk) return { skipped: zk.missing };
  const shards = opts.shards ?? 2;
  const replicas = opts.replicas ?? 3;
  const name = opts.name ?? 'cp_cluster';
  const subsets = opts.subsets ?? [];
  for (const n of [name, ...subsets.map((x) => x.name)]) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new Error(`bad cluster name ${n}`);
  for (const x of subsets) if (x.replicas < 1 || x.replicas > replicas) throw new Error(`cluster ${x.name}: 1..${replicas} replicas per shard`);

  const root = await mkdtemp(path.join(os.tmpdir(), 'ch-cluster-test-'));
  try {
    const ports = await freePorts(1 + shards * replicas * 3);
    const zkPort = ports.shift()!;
    const slots: NodeSlot[] = [];
    for (let s = 1; s <= shards; s++) {
      for (let r = 1; r <= replicas; r++) {
        const replicaName = `s${s}r${r}`;
        slots.push({
          shard: s,
          replica: r,
          replicaName,
          dir: path.join(root, replicaName),
          httpPort: ports.shift()!,
          tcpPort: ports.shift()!,
          interserverPort: ports.shift()!,
          proc: undefined,
        });
      }
    }
    const zkDir = path.join(root, 'zookeeper');
    await prepareZooKeeperDir(zkDir, zkPort);
    const remoteServers = remoteServersXml([{ name, replicas }, ...subsets], shards, slots);
    for (const slot of slots) {
      const extraXml = nodeXml(slot, remoteServers, zkPort);
      await prepareServerDir(
        slot.dir,
        serverConfigXml({
          dir: slot.dir,
          httpPort: slot.httpPort,
          tcpPort: slot.tcpPort,
          cacheBytes: NODE_CACHE_BYTES,
          extraXml: extraXml + (CLUSTER_TEST_DIAG ? PART_LOG_XML : ''),
          ...(CLUSTER_TEST_DIAG ? { logLevel: 'debug' } : {}),
        }),
        usersXml(NODE_PROFILE + (CLUSTER_TEST_DIAG ? '<log_queries>1</log_queries>' : '')),
      );
    }
    const cluster = new LocalCluster(name, shards, replicas, root, server, zk, zkDir, zkPort, slots);
    await cluster.startAll();
    return cluster;
  } catch (err) {
    removeTempDir(root);
    throw err;
  }
}

function remoteServersXml(clusters: ReadonlyArray<{ name: string; replicas: number }>, shards: number, slots: NodeSlot[]): string {
  const defs = clusters.map(({ name, replicas: perShard }) => {
    const shardXml: string[] = [];
    for (let s = 1; s <= shards; s++) {
      const replicas = slots
        .filter((n) => n.shard === s && n.replica <= perShard)
        .map((n) => `<replica><host>127.0.0.1</host><port>${n.tcpPort}</port></replica>`)
        .join('');
      // internal_replication: a Distributed insert writes one replica per shard
      // and the replicated table copies it, instead of writing every replica itself.
      shardXml.push(`<shard><internal_replication>true</internal_replication>${replicas}</shard>`);
    }
    return `<${name}>${shardXml.join('')}</${name}>`;
  });
  return `<remote_servers>${defs.join('')}</remote_servers>`;
}

function nodeXml(slot: NodeSlot, remoteServers: string, zkPort: number): string {
  return `  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>${slot.interserverPort}</interserver_http_port>
  ${remoteServers}
  <zookeeper>
    <node><host>127.0.0.1</host><port>${zkPort}</port></node>
    <session_timeout_ms>${ZK_SESSION_TIMEOUT_MS}</session_timeout_ms>
  </zookeeper>
  <macros><shard>${slot.shard}</shard><replica>${slot.replicaName}</replica></macros>
  <distributed_ddl><path>${DISTRIBUTED_DDL_PATH}</path></distributed_ddl>
`;
}

class LocalCluster implements RunningClickHouseCluster {
  readonly nodes: readonly ClusterNode[];
  readonly urls: readonly string[];
  private zkProc: ZooKeeperProcess | undefined;

  constructor(
    readonly name: string,
    readonly shards: number,
    readonly replicas: number,
    private readonly root: string,
    private readonly server: ServerBinary,
    private readonly zk: ZooKeeperBinary,
    private readonly zkDir: string,
    readonly zooKeeperPort: number,
    private readonly slots: NodeSlot[],
  ) {
    this.nodes = slots.map((s) => ({
      shard: s.shard,
      replica: s.replica,
      replicaName: s.replicaName,
      url: `http://127.0.0.1:${s.httpPort}`,
      httpPort: s.httpPort,
      tcpPort: s.tcpPort,
      dir: s.dir,
      alive: () => s.proc?.alive() ?? false,
    }));
    this.urls = this.nodes.map((n) => n.url);
  }

  async startAll(): Promise<void> {
    this.zkProc = await spawnZooKeeper(this.zk, this.zkDir, this.zooKeeperPort);
    // In parallel: each server spends most of its start waiting, not computing.
    const started = await Promise.allSettled(this.slots.map((s) => this.startSlot(s)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.stopProcesses();
      throw failed.reason;
    }
  }

  node(shard: number, replica: number): ClusterNode {
    const n = this.nodes.find((x) => x.shard === shard && x.replica === replica);
    if (!n) throw new Error(`no replica ${replica} of shard ${shard}`);
    return n;
  }

  async killReplica(shard: number, replica: number): Promise<void> {
    const slot = this.slot(shard, replica);
    await slot.proc?.kill();
    slot.proc = undefined;
  }

  async restartReplica(shard: number, replica: number, opts: { forceRestoreData?: boolean } = {}): Promise<void> {
    const slot = this.slot(shard, replica);
    if (slot.proc?.alive()) throw new Error(`replica ${slot.replicaName} is still running`);
    if (opts.forceRestoreData) {
      // The server consumes (deletes) the flag when it starts.
      await mkdir(path.join(slot.dir, 'data', 'flags'), { recursive: true });
      await writeFile(path.join(slot.dir, 'data', 'flags', 'force_restore_data'), '');
    }
    await this.startSlot(slot);
  }

  async killZooKeeper(): Promise<void> {
    await this.zkProc?.kill();
    this.zkProc = undefined;
  }

  async restartZooKeeper(): Promise<void> {
    if (this.zkProc?.alive()) throw new Error('ZooKeeper is still running');
    this.zkProc = await spawnZooKeeper(this.zk, this.zkDir, this.zooKeeperPort);
  }

  zooKeeperCli(...args: string[]): Promise<string> {
    return zooKeeperCli(this.zk, this.zooKeeperPort, args);
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
    removeTempDir(this.root);
  }

  private async stopProcesses(): Promise<void> {
    // SIGKILL: the data is deleted next, and a replicated server's orderly
    // shutdown spends seconds on replicas that are already gone.
    await Promise.all(
      this.slots.map(async (s) => {
        await s.proc?.kill();
        s.proc = undefined;
      }),
    );
    await this.zkProc?.kill();
    this.zkProc = undefined;
  }

  private async startSlot(slot: NodeSlot): Promise<void> {
    slot.proc = await spawnServer(this.server, slot.dir, slot.httpPort);
  }

  private slot(shard: number, replica: number): NodeSlot {
    const slot = this.slots.find((s) => s.shard === shard && s.replica === replica);
    if (!slot) throw new Error(`no replica ${replica} of shard ${shard}`);
    return slot;
  }
}
