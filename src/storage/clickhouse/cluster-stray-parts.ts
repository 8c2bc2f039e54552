// Parts a replica holds that the shard does not: found and removed before an
// insert is sent again, and before a returning node takes calls.
//
// How 18.16 leaves them:
//  - An INSERT whose ZooKeeper commit loses its connection ("Unknown status,
//    client must retry. Reason: Connection loss") keeps the part it wrote as
//    an active part of the replica that wrote it, although ZooKeeper never
//    heard of it. The block id never reached /blocks either, so the identical
//    block sent again is not deduplicated: it becomes a new part on every
//    replica, and the writer holds those rows twice until a later merge
//    happens to cover the stray part's block number, or 18.16's part check
//    removes it (it looks once, five minutes later, and leaves a part it
//    finds a second too young). Reads through the Distributed table that
//    pick that replica see the rows twice meanwhile. (Seen in the failover
//    test with ZooKeeper killed under load: part_log says so.)
//  - A quorum insert whose writer died before another replica fetched the
//    part is marked failed (quorum/failed_parts) once the writer's session
//    has expired, and its block id released, so the re-sent block lands as a
//    new part. A restarting writer drops its failed parts just before it
//    registers as active, and the mark is made only while it is not: a mark
//    made between the two leaves it the part, plus the new one it fetches.
//
// A stray part: active on a replica, and either not among the replica's
// parts in ZooKeeper (nor covered by one there), or listed as a failed quorum
// part. The remedy is SYSTEM RESTART REPLICA on that node for that table:
// 18.16 attaches the table again, moves the parts ZooKeeper does not list to
// detached/ (ignored_…) and, as the replica starts, detaches failed quorum
// parts (noquorum_…). Nothing acknowledged is lost: a stray part never
// reached its quorum, and its rows are re-sent (or were) as the identical block.
// 18.16 refuses to attach a table whose parts unknown to ZooKeeper hold most
// of its rows (a young table): such a replica is not restarted but held out
// of rotation until the rows sent again have reached it (see restartRefused).
import type { ClickHouseLocation } from '../physical-names.js';
import type { ServerEngine } from './server-engine.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

export interface PartName {
  partition: string;
  minBlock: number;
  maxBlock: number;
  level: number;
}

/**
 * `<partition id>_<min block>_<max block>_<level>[_<mutation>]`. A partition
 * id is `all`, numbers joined by `-` (a date key: `20261130`) or a hex hash,
 * so a detached name (`ignored_…`, `noquorum_…`) is not taken for a part.
 */
export function parsePartName(name: string): PartName | undefined {
  const m = /^(all|[0-9a-f-]+)_(\d+)_(\d+)_(\d+)(?:_\d+)?$/.exec(name);
  if (!m) return undefined;
  return { partition: m[1]!, minBlock: Number(m[2]), maxBlock: Number(m[3]), level: Number(m[4]) };
}

/** `outer` replaces `inner`: same partition, every block of it, merged at least as far (ClickHouse's MergeTreePartInfo::contains). */
export function covers(outer: PartName, inner: PartName): boolean {
  return outer.partition === inner.partition && outer.minBlock <= inner.minBlock && inner.maxBlock <= outer.maxBlock && outer.level >= inner.level;
}

export interface StrayPart {
  part: string;
  why: 'not in ZooKeeper' | 'failed quorum';
}

/**
 * The stray parts given what a replica held before and after ZooKeeper was
 * read (a part merged away in between is no longer active after, and a part
 * ZooKeeper has just replaced is covered by the new one) and what ZooKeeper
 * lists for it. Pure: the reading is strayPartsOn's.
 */
export function strayParts(activeBefore: readonly string[], activeAfter: readonly string[], inZooKeeper: readonly string[], failedQuorum: readonly string[]): StrayPart[] {
  const after = new Set(activeAfter);
  const known = new Set(inZooKeeper);
  const failed = new Set(failedQuorum);
  const knownNames = inZooKeeper.map(parsePartName).filter((p): p is PartName => p !== undefined);
  const out: StrayPart[] = [];
  for (const part of activeBefore) {
    if (!after.has(part)) continue;
    if (failed.has(part)) {
      out.push({ part, why: 'failed quorum' });
      continue;
    }
    if (known.has(part)) continue;
    const parsed = parsePartName(part);
    // An unreadable name is left alone: only what is certainly stray is removed.
    if (!parsed || knownNames.some((k) => covers(k, parsed))) continue;
    out.push({ part, why: 'not in ZooKeeper' });
  }
  return out;
}

/**
 * Whether SYSTEM RESTART REPLICA would be refused: 18.16 will not attach a
 * replicated table again (it would stay detached, and the server would not
 * start with it) when its parts missing from ZooKeeper hold more than
 * `maxRatio` of its rows (replicated_max_ratio_of_wrong_parts, 0.5 by
 * default): a young table. Failed quorum parts are in ZooKeeper and do not
 * count. 18.16 also counts parts on disk that are no longer active, which
 * only lowers the share: judging by active parts errs on the side of not
 * restarting.
 */
export function restartRefused(stray: readonly StrayPart[], rowsOf: ReadonlyMap<string, number>, maxRatio = 0.5): boolean {
  let active = 0;
  for (const rows of rowsOf.values()) active += rows;
  const unknown = stray.filter((p) => p.why === 'not in ZooKeeper').reduce((n, p) => n + (rowsOf.get(p.part) ?? 0), 0);
  return unknown > active * maxRatio;
}

export interface StrayPartsOnReplica {
  stray: StrayPart[];
  /** SYSTEM RESTART REPLICA would not attach the table again now (see restartRefused). */
  restartRefused: boolean;
}

/**
 * Reads one replica of a table: its active parts, then what ZooKeeper lists
 * for it (`zkPath` is the table's path with the shard filled in, `replica`
 * the node's replica macro), then its active parts again.
 */
export async function strayPartsOn(e: ServerEngine, local: ClickHouseLocation, zkPath: string, replica: string): Promise<StrayPartsOnReplica> {
  const activeParts = async () =>
    new Map(
      (
        await e.query<{ name: string; rows: string | number }>(
          `SELECT name, rows FROM system.parts WHERE database = ${quoteString(local.database)} AND table = ${quoteString(local.table)} AND active`,
        )
      ).map((r) => [r.name, Number(r.rows)]),
    );
  const none: StrayPartsOnReplica = { stray: [], restartRefused: false };
  const before = await activeParts();
  if (before.size === 0) return none;
  const [inZooKeeper, failedQuorum] = await Promise.all([
    zooKeeperChildren(e, `${zkPath}/replicas/${replica}/parts`),
    zooKeeperChildren(e, `${zkPath}/quorum/failed_parts`),
  ]);
  // No list of its parts: not a replica of this table as ZooKeeper knows it; nothing here can be judged stray.
  if (inZooKeeper === undefined) return none;
  const after = await activeParts();
  const stray = strayParts([...before.keys()], [...after.keys()], inZooKeeper, failedQuorum ?? []);
  if (stray.length === 0) return none;
  const [ratio] = await e.query<{ value: string }>(`SELECT value FROM system.merge_tree_settings WHERE name = 'replicated_max_ratio_of_wrong_parts'`);
  return { stray, restartRefused: restartRefused(stray, after, ratio === undefined ? undefined : Number(ratio.value)) };
}

/** SYSTEM RESTART REPLICA of the table on this node: the remedy for its stray parts (see above). */
export async function restartReplica(e: ServerEngine, local: ClickHouseLocation): Promise<void> {
  await e.exec(`SYSTEM RESTART REPLICA ${quoteIdentifier(local.database)}.${quoteIdentifier(local.table)}`);
}

/** The children of a ZooKeeper path, or undefined when it does not exist (18.16 answers that with a "no node" error). */
async function zooKeeperChildren(e: ServerEngine, path: string): Promise<string[] | undefined> {
  try {
    return (await e.query<{ name: string }>(`SELECT name FROM system.zookeeper WHERE path = ${quoteString(path)}`)).map((r) => r.name);
  } catch (err) {
    if (/no node/i.test(err instanceof Error ? err.message : String(err))) return undefined;
    throw err;
  }
}
