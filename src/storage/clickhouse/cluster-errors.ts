// What a failure from a ClickHouse cluster means for the caller: skip the node,
// retry the identical block later, retry the read elsewhere, or stop. 18.16
// words errors as "Code: N, e.displayText() = DB::Exception: …" and wraps a
// shard's failure in the coordinator's ("Code: 319 … Reason: Code: 159 …"), so
// every code in the message counts. The messages behind each class were seen
// on the cluster harness (test/integration/clickhouse-cluster.integration.test.ts).

export type ClusterFailure =
  /** Our HTTP connection to the node failed: use another node (MultiNodeEngine does). */
  | 'node-unreachable'
  /** The insert did not reach its quorum, or an earlier one has not yet: re-send the identical block later. */
  | 'quorum'
  /** The replica lost ZooKeeper, or has not re-registered since a restart, and refuses writes; reads still work: retry writes with backoff. */
  | 'read-only'
  /** ZooKeeper itself failed or timed out. */
  | 'zookeeper'
  /** A sequentially consistent read met a replica that lacks a quorum-written part: read again elsewhere. */
  | 'stale-replica'
  /** A call timed out, the node could not reach a shard, or the insert's ZooKeeper commit lost a race: re-send the identical block. */
  | 'outcome-unknown'
  /** The server is busy (too many parts, queries or memory): retry with backoff. */
  | 'overloaded'
  /** Anything else (bad SQL, unknown column, …): retrying the same thing fails the same way. */
  | 'permanent';

/**
 * A replica still holds stray parts after its table was restarted
 * (cluster-stray-parts.ts): the insert that waits for it is tried again.
 */
export class StrayPartsRemainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrayPartsRemainError';
  }
}

// Node.js socket errors that mean "this node did not take the request".
const TRANSPORT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

const QUORUM_CODES = new Set([
  285, // TOO_FEW_LIVE_REPLICAS: "Number of alive replicas (1) is less than requested quorum (2)"
  286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
  319, // UNKNOWN_STATUS_OF_INSERT: "Unknown status, client must retry. Reason: … Timeout while waiting for quorum"
]);
const READ_ONLY_CODES = new Set([
  242, // TABLE_IS_READ_ONLY: "Table is in readonly mode" (its ZooKeeper session is gone)
  164, // READONLY: "Replica is not active right now" (a restarted replica before it re-registers)
]);
const ZOOKEEPER_CODES = new Set([
  225, // NO_ZOOKEEPER
  999, // KEEPER_EXCEPTION
  // UNEXPECTED_ZOOKEEPER_ERROR: an insert's ZooKeeper transaction failed one of its checks, e.g. "Unexpected logical
  // error while adding block 36 …: No node, path …/replicas/s1r2/is_active" on a replica just restarted whose old
  // session expired mid-insert. The transaction is all or nothing and the part is rolled back: send it again.
  244,
]);
const STALE_REPLICA_CODES = new Set([289]); // REPLICA_IS_NOT_IN_QUORUM
const OUTCOME_UNKNOWN_CODES = new Set([
  159, // TIMEOUT_EXCEEDED
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR (coordinator → shard)
  279, // ALL_CONNECTION_TRIES_FAILED (coordinator → every replica of a shard)
  292, // "Leader was suddenly changed or logical error" (seen on an insert right after a replica rejoined)
]);
// The coordinator's connection to a shard's replica ended mid-statement (the
// replica was killed): "Code: 32 … Attempt to read after eof: while receiving
// packet from 127.0.0.1:42613: Insertion status: …", or 210 "Connection reset
// by peer, while reading from socket". The replica may have written its block.
const SHARD_CONNECTION_LOST = /while (receiving packet from|reading from socket|writing to socket)/i;
const OVERLOADED_CODES = new Set([
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  241, // MEMORY_LIMIT_EXCEEDED
  252, // TOO_MANY_PARTS
]);

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    out.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return out;
}

function messages(err: unknown): string {
  return chain(err)
    .map((e) => (e instanceof Error ? e.message : String(e)))
    .join('\n');
}

/** Every ClickHouse error code named in the error or its causes, outermost first. */
export function clickhouseErrorCodes(err: unknown): number[] {
  const codes: number[] = [];
  for (const e of chain(err)) {
    const code = (e as { code?: unknown }).code;
    // @clickhouse/client's ClickHouseError carries the code as a string of digits.
    if (typeof code === 'string' && /^\d+$/.test(code)) codes.push(Number(code));
  }
  for (const m of messages(err).matchAll(/Code: (\d+)/g)) codes.push(Number(m[1]));
  return [...new Set(codes)];
}

/** True when the request never got an answer from the node (refused, reset, unresolvable). */
export function isNodeUnreachable(err: unknown): boolean {
  for (const e of chain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSPORT_CODES.has(code)) return true;
  }
  return /socket hang up/i.test(messages(err));
}

export function classifyClusterFailure(err: unknown): ClusterFailure {
  if (isNodeUnreachable(err)) return 'node-unreachable';
  if (chain(err).some((e) => e instanceof StrayPartsRemainError)) return 'outcome-unknown';
  const codes = clickhouseErrorCodes(err);
  const has = (set: Set<number>) => codes.some((c) => set.has(c));
  const text = messages(err);
  // Order matters: a quorum timeout arrives as 319 wrapping 159, a lost
  // ZooKeeper as 242 or as 999 inside another code.
  if (has(QUORUM_CODES) || (codes.includes(159) && /quorum/i.test(text))) return 'quorum';
  if (has(READ_ONLY_CODES)) return 'read-only';
  if (has(ZOOKEEPER_CODES) || /Coordination::Exception|ZooKeeper session/i.test(text)) return 'zookeeper';
  if (has(STALE_REPLICA_CODES)) return 'stale-replica';
  if (has(OUTCOME_UNKNOWN_CODES) || /Timeout error/i.test(text) || SHARD_CONNECTION_LOST.test(text)) return 'outcome-unknown';
  if (has(OVERLOADED_CODES)) return 'overloaded';
  return 'permanent';
}
