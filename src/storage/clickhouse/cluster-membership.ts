// Which replica of the configured cluster each CLICKHOUSE_URL is, read from
// the node itself: its shard is the one system.clusters marks local (18.16
// marks every replica of the local shard), its name within the shard is its
// `replica` macro, and its `shard` macro fills the {shard} of every replicated
// table's ZooKeeper path. Cluster mode needs CLICKHOUSE_URL to list every
// node (DDL is run node by node and the Distributed table must exist on each),
// so a list that cannot be the whole cluster is refused with the reason.
import type { ClusterTopology } from './cluster-topology.js';
import type { MultiNodeEngine } from './multi-node-engine.js';
import type { ServerEngine } from './server-engine.js';
import { quoteString } from './sql-literal.js';

export interface NodeIdentity {
  url: string;
  /** 1-based shard number in system.clusters. */
  shard: number;
  /** The node's `replica` macro (unique within its shard). */
  replica: string;
  /** The node's `shard` macro (what {shard} becomes in ZooKeeper paths). */
  shardMacro: string;
}

/** The URLs cannot be the cluster's nodes as configured: boot stops with this message. */
export class ClusterMembershipError extends Error {
  override readonly name = 'ClusterMembershipError';
}

/** Reads one node's identity; throws ClusterMembershipError when the node is not usable as a member. */
export async function identifyNode(engine: ServerEngine, url: string, cluster: string): Promise<NodeIdentity> {
  const shards = await engine.query<{ s: number }>(
    `SELECT DISTINCT shard_num AS s FROM system.clusters WHERE cluster = ${quoteString(cluster)} AND is_local = 1`,
  );
  const macros = Object.fromEntries(
    (await engine.query<{ macro: string; substitution: string }>('SELECT macro, substitution FROM system.macros')).map((m) => [m.macro, m.substitution]),
  );
  if (shards.length !== 1) {
    throw new ClusterMembershipError(
      shards.length === 0
        ? `CLICKHOUSE_URL: ${url} is not a node of cluster ${cluster} (no replica of its remote_servers entry is local to it)`
        : `CLICKHOUSE_URL: ${url} is local to several shards of cluster ${cluster} (${shards.map((s) => s.s).join(', ')}); each server must be one replica of one shard`,
    );
  }
  if (!macros.shard || !macros.replica) {
    throw new ClusterMembershipError(`CLICKHOUSE_URL: ${url} has no ${macros.shard ? 'replica' : 'shard'} macro; replicated tables need <macros><shard>…</shard><replica>…</replica></macros> on every node`);
  }
  return { url, shard: Number(shards[0]!.s), replica: macros.replica, shardMacro: macros.shard };
}

/**
 * Checks what is known of the nodes against the topology: as many URLs as
 * replicas, no two URLs the same replica, each shard's nodes agreeing on its
 * shard macro and no two shards sharing one. Unreachable nodes (undefined)
 * are checked when they are identified later (checkJoiningNode).
 */
export function checkMembership(topology: ClusterTopology, urls: readonly string[], identities: ReadonlyMap<string, NodeIdentity>): void {
  const replicas = topology.shards.reduce((n, s) => n + s.replicas.length, 0);
  if (urls.length !== replicas) {
    throw new ClusterMembershipError(
      `CLICKHOUSE_URL names ${urls.length} server(s), but cluster ${topology.cluster} has ${replicas} replica(s) in ${topology.shards.length} shard(s): ` +
        'cluster mode runs DDL on every node, so list the HTTP URL of every replica of every shard',
    );
  }
  const known = [...identities.values()];
  for (const id of known) checkJoiningNode(topology, known.filter((o) => o.url !== id.url), id);
}

/** Checks one newly identified node against the nodes already known; throws ClusterMembershipError. */
export function checkJoiningNode(topology: ClusterTopology, others: readonly NodeIdentity[], id: NodeIdentity): void {
  const shard = topology.shards.find((s) => s.shard === id.shard);
  if (!shard) throw new ClusterMembershipError(`CLICKHOUSE_URL: ${id.url} says it is in shard ${id.shard}, which cluster ${topology.cluster} does not have`);
  const twin = others.find((o) => o.shard === id.shard && o.replica === id.replica);
  if (twin) throw new ClusterMembershipError(`CLICKHOUSE_URL: ${id.url} and ${twin.url} are the same replica (${id.replica} of shard ${id.shard}); list each server once`);
  const sibling = others.find((o) => o.shard === id.shard && o.shardMacro !== id.shardMacro);
  if (sibling) {
    throw new ClusterMembershipError(
      `shard ${id.shard}: ${id.url} has shard macro ${JSON.stringify(id.shardMacro)} but ${sibling.url} has ${JSON.stringify(sibling.shardMacro)}; replicas of one shard must share it`,
    );
  }
  const clash = others.find((o) => o.shard !== id.shard && o.shardMacro === id.shardMacro);
  if (clash) {
    throw new ClusterMembershipError(
      `shards ${clash.shard} and ${id.shard} both have shard macro ${JSON.stringify(id.shardMacro)} (${clash.url}, ${id.url}): their replicated tables would share ZooKeeper paths`,
    );
  }
  const inShard = others.filter((o) => o.shard === id.shard).length + 1;
  if (inShard > shard.replicas.length) {
    throw new ClusterMembershipError(`CLICKHOUSE_URL names ${inShard} servers of shard ${id.shard}, which has ${shard.replicas.length} replica(s)`);
  }
}

/** Identities of every node that answers (others are left out); a node that answers but does not fit throws. */
export async function identifyNodes(engine: MultiNodeEngine, cluster: string): Promise<Map<string, NodeIdentity>> {
  const outcomes = await engine.onEveryNode((e, url) => identifyNode(e, url, cluster));
  const out = new Map<string, NodeIdentity>();
  for (const o of outcomes) {
    if (o.ok) out.set(o.url, o.value);
    else if (o.error instanceof ClusterMembershipError) throw o.error;
  }
  return out;
}
