// The tables of cluster mode and how they reach every node. Per tenant table:
// a ReplicatedReplacingMergeTree table in the tenant's local database on every
// replica of every shard (its ZooKeeper path names the shard macro and a
// generation) and a Distributed table over it in the tenant database on every
// node. 18.16 cannot ALTER replicated tables ON CLUSTER, so DDL goes node by
// node: CREATE … IF NOT EXISTS on every node; a new column once per shard (on
// one live replica; replication carries it to the others, also to one that is
// down, from the log) and then on the Distributed table of every node.
//
// A node that missed DDL (it was down, or failed it) is held out of rotation
// by the engine; reconcile() brings it up to what this schema knows (and
// performs drops it missed) before it takes calls again. Which tables exist
// and their columns are learnt from the nodes at start (load), never assumed
// from the catalog: the catalog knows columns before the applier adds them.
//
// Statements are serialized: a reconcile and an ensure must not race on one node.
import type { Logger } from 'pino';
import { Errors } from '../../platform/errors.js';
import {
  clickhouseLocation,
  clusterLocalLocation,
  newTableGeneration,
  replicatedTablePath,
  tableRefKey,
  type ClickHouseLocation,
  type TableRef,
} from '../physical-names.js';
import type { ColumnSpec, ColumnType } from '../record-types.js';
import { clickhouseErrorCodes, isNodeUnreachable, StrayPartsRemainError } from './cluster-errors.js';
import { checkJoiningNode, identifyNode, type NodeIdentity } from './cluster-membership.js';
import { RETRIABLE_WRITE, withClusterRetry } from './cluster-retry.js';
import { restartReplica, strayPartsOn, type StrayPart } from './cluster-stray-parts.js';
import type { ClusterTopology } from './cluster-topology.js';
import { isUnknownTableError } from './engine-errors.js';
import type { MultiNodeEngine } from './multi-node-engine.js';
import type { ServerEngine } from './server-engine.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';
import { FIXED_COLUMNS_DDL, columnDdl, columnTypeOf, validateColumns } from './tenant-table-schema.js';
import { columnsOf, compareGenerations, generationIn, parseZooKeeperColumns, readInventory, type NodeInventory } from './cluster-inventory.js';

/** How cluster-mode tables are laid out (for /metadata/indexes); queries name the Distributed table. */
export function clusterTableLayout(shardingKey: string) {
  return {
    engine: 'Distributed over ReplicatedReplacingMergeTree(lsn)',
    partitionKey: 'date',
    sortKey: ['data_id'],
    shardingKey,
  } as const;
}

/** What the cluster is and which node is which, known once the connection is prepared. */
export interface ClusterLayout {
  readonly topology: ClusterTopology;
  /** By URL; a node that did not answer at start is added when it is first identified. */
  readonly identities: Map<string, NodeIdentity>;
  /** insert_quorum of every insert. */
  readonly quorum: number;
}

export interface ClusterSchemaOptions {
  engine: MultiNodeEngine;
  /** CLICKHOUSE_DATABASE. */
  base: string;
  cluster: string;
  shardingKey: string;
  zkPathPrefix: string;
  layout: () => ClusterLayout;
  logger: Logger;
  /** replication_alter_columns_timeout for ADD COLUMN: how long to wait for a replica that is down before 18.16 answers 341. */
  alterTimeoutSeconds?: number;
  /** How long a per-shard statement is retried (ZooKeeper or quorum trouble) before the caller sees the failure. */
  retryDeadlineMs?: number;
  /** Told of the stray parts removed from a replica (metrics). */
  onStrayParts?: (node: NodeIdentity, parts: readonly StrayPart[]) => void;
}

/** A tenant table as every node should have it. */
export interface ClusterTableState extends TableRef {
  generation: string;
  /** Promoted columns in place on every shard and on the Distributed table of every node in rotation. */
  columns: Map<string, ColumnType>;
}


const DEFAULT_ALTER_TIMEOUT_SECONDS = 3;
const DEFAULT_RETRY_DEADLINE_MS = 30_000;
const ALREADY_EXISTS = 44; // ILLEGAL_COLUMN: "Cannot add column …: column with this name already exists"
const TOO_MANY_UNEXPECTED_DATA_PARTS = 231; // a replicated table whose local parts differ too much from ZooKeeper's is not attached
const ALTER_ASYNC = 341; // UNFINISHED: "Alter will be done asynchronously" (a replica did not confirm in time)

// How long a live replica gets to apply a new column before it is restarted, and after.
const APPLY_WAIT_MS = 1000;
const RESTARTED_APPLY_WAIT_MS = 10_000;
// How long a restarted replica gets to drop its stray parts (failed quorum parts go as it starts).
const STRAY_PARTS_WAIT_MS = 10_000;

const key = (l: ClickHouseLocation) => `${l.database}.${l.table}`;

async function pollUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class ClusterSchema {
  private readonly tables = new Map<string, ClusterTableState>();
  /** Drops a node missed (it was down): done by reconcile() before it takes calls. */
  private readonly pendingDrops = new Map<string, Map<string, TableRef>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ClusterSchemaOptions) {}

  /** The Distributed table: what queries name. */
  distLocation(tenant: string, table: string): ClickHouseLocation {
    return clickhouseLocation(this.opts.base, tenant, table);
  }

  /** The replicated table on every replica. */
  localLocation(tenant: string, table: string): ClickHouseLocation {
    return clusterLocalLocation(this.opts.base, tenant, table);
  }

  /** The table's state as known here (undefined before it was created or learnt). */
  state(tenant: string, table: string): ClusterTableState | undefined {
    return this.tables.get(tableRefKey(tenant, table));
  }

  /** Every table known here, for reconciling and for the status page's columns-behind figure. */
  knownTables(): ClusterTableState[] {
    return [...this.tables.values()];
  }

  /** The ZooKeeper path of a table on one shard (the shard macro filled in). */
  zooKeeperPath(state: ClusterTableState, shardMacro: string): string {
    return replicatedTablePath(this.opts.zkPathPrefix, this.localLocation(state.tenant, state.table), state.generation).replace('{shard}', shardMacro);
  }

  /**
   * Creates the table on every node, or adds the columns it lacks: per shard
   * on one live replica, then on every node's Distributed table. Nodes that
   * miss it are held until reconciled. Fails when a shard could not take it.
   */
  async ensure(tenant: string, table: string, columns: ColumnSpec[]): Promise<void> {
    validateColumns(columns);
    if (this.satisfied(tenant, table, columns)) return;
    await this.serialize(async () => {
      if (this.satisfied(tenant, table, columns)) return;
      let state = this.state(tenant, table);
      if (!state) state = await this.create(tenant, table, columns);
      for (const col of columns) {
        const have = state.columns.get(col.name);
        if (have === col.type) continue;
        if (have !== undefined) throw Errors.conflict(`column ${col.name} of ${tenant}/${table} is ${have}, cannot change it to ${col.type}`);
        await this.addColumn(state, col);
      }
    });
  }

  /**
   * Removes the table's stray parts (cluster-stray-parts.ts) from every node
   * that answers: an insert that failed may have left one on the replica that
   * wrote it, and the identical block sent again would then be stored twice
   * there. A node that does not answer is skipped: 18.16 drops such parts as
   * it starts, and reconcile() checks it again before it takes calls. A node
   * whose restart 18.16 would refuse yet is held (reconcile() removes its
   * stray parts once it can). Throws (retriably) while a node cannot read
   * ZooKeeper or a stray part stays.
   */
  async settle(tenant: string, table: string): Promise<void> {
    const state = this.state(tenant, table);
    if (!state) return;
    await this.serialize(async () => {
      const { engine } = this.opts;
      const nodes = [...this.opts.layout().identities.values()].filter((id) => !engine.isQuarantined(id.url));
      const outcomes = await Promise.allSettled(nodes.map((id) => engine.onNode(id.url, (e) => this.removeStrayParts(e, id, state))));
      outcomes.forEach((o, i) => {
        if (o.status === 'fulfilled' && o.value !== undefined) engine.hold(nodes[i]!.url, o.value);
      });
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected' && !isNodeUnreachable(o.reason));
      if (failed) throw failed.reason;
    });
  }

  /** Drops the table everywhere; a node that is down drops it when it returns (before it takes calls). */
  async drop(tenant: string, table: string): Promise<void> {
    await this.serialize(async () => {
      const ref = { tenant, table };
      this.tables.delete(tableRefKey(tenant, table));
      const outcomes = await this.opts.engine.onEveryNode((e) => this.dropOn(e, ref));
      for (const o of outcomes) {
        if (o.ok) continue;
        let drops = this.pendingDrops.get(o.url);
        if (!drops) this.pendingDrops.set(o.url, (drops = new Map()));
        drops.set(tableRefKey(tenant, table), ref);
        this.opts.engine.hold(o.url, `missed the drop of ${tenant}/${table}`);
        this.opts.logger.warn({ node: o.url, tenant, table, err: o.error }, 'a node missed a table drop; it is done when the node returns');
      }
    });
  }

  /**
   * At start: learns, from every node that answers, which of `catalogTables`
   * exist (and their generation: the newest one any node has) and which
   * promoted columns every node has. Tables no node has are created on first use.
   */
  async load(catalogTables: readonly TableRef[]): Promise<void> {
    await this.serialize(async () => {
      const inventories = (await this.opts.engine.onEveryNode((e) => readInventory(e, this.opts.base))).flatMap((o) => (o.ok ? [o.value] : []));
      for (const ref of catalogTables) {
        const local = this.localLocation(ref.tenant, ref.table);
        const dist = this.distLocation(ref.tenant, ref.table);
        let generation: string | undefined;
        for (const inv of inventories) {
          const g = generationIn(inv, local, this.opts.zkPathPrefix);
          if (g !== undefined && (generation === undefined || compareGenerations(g, generation) > 0)) generation = g;
        }
        if (generation === undefined) continue;
        // A column counts as in place only where every node that has the table has it.
        let columns: Map<string, ColumnType> | undefined;
        for (const inv of inventories) {
          if (generationIn(inv, local, this.opts.zkPathPrefix) !== generation) continue;
          for (const loc of [local, dist]) {
            const cols = inv.columns.get(key(loc));
            if (!cols) continue;
            const promoted = new Map<string, ColumnType>();
            for (const [name, type] of cols) {
              const t = columnTypeOf(type);
              if (t) promoted.set(name, t);
            }
            columns = columns === undefined ? promoted : new Map([...columns].filter(([n, t]) => promoted.get(n) === t));
          }
        }
        this.tables.set(tableRefKey(ref.tenant, ref.table), { ...ref, generation, columns: columns ?? new Map() });
      }
    });
  }

  /**
   * Brings one node up to this schema: identifies it if it was never seen,
   * performs drops it missed, creates what it lacks and adds the Distributed
   * columns it lacks. Ready once its local tables also have every column
   * (they arrive by replication); until then it stays held.
   */
  async reconcile(url: string): Promise<{ ready: boolean; detail?: string }> {
    return this.serialize(async () => {
      const { engine } = this.opts;
      const layout = this.opts.layout();
      let identity = layout.identities.get(url);
      if (!identity) {
        identity = await engine.onNode(url, (e) => identifyNode(e, url, this.opts.cluster));
        checkJoiningNode(layout.topology, [...layout.identities.values()], identity);
        layout.identities.set(url, identity);
        this.opts.logger.info({ node: url, shard: identity.shard, replica: identity.replica }, 'cluster node identified');
      }
      const drops = this.pendingDrops.get(url);
      for (const [k, ref] of drops ?? []) {
        await engine.onNode(url, (e) => this.dropOn(e, ref));
        drops!.delete(k);
      }
      const id = identity;
      const inv = await engine.onNode(url, (e) => readInventory(e, this.opts.base));
      let behind = 0;
      const waiting: string[] = [];
      for (const state of this.tables.values()) {
        behind += await engine.onNode(url, (e) => this.ensureOn(e, id, state, inv));
        // A replica that was away may hold a part its shard marked failed while it was gone.
        const wait = await engine.onNode(url, (e) => this.removeStrayParts(e, id, state));
        if (wait !== undefined) waiting.push(wait);
      }
      if (behind > 0) return { ready: false, detail: `its local tables lack ${behind} column(s) still to come by replication` };
      return waiting.length > 0 ? { ready: false, detail: waiting.join('; ') } : { ready: true };
    });
  }

  private satisfied(tenant: string, table: string, columns: ColumnSpec[]): boolean {
    const state = this.state(tenant, table);
    return state !== undefined && columns.every((c) => state.columns.get(c.name) === c.type);
  }

  private async create(tenant: string, table: string, columns: ColumnSpec[]): Promise<ClusterTableState> {
    const { engine } = this.opts;
    const layout = this.opts.layout();
    const local = this.localLocation(tenant, table);
    const dist = this.distLocation(tenant, table);
    const adopted = await this.adoptableGeneration(local, dist);
    const state: ClusterTableState = {
      tenant,
      table,
      generation: adopted ?? newTableGeneration(),
      // An adopted table's columns are added (or found present) one by one by ensure().
      columns: adopted ? new Map() : new Map(columns.map((c) => [c.name, c.type])),
    };
    const outcomes = await engine.onEveryNode(async (e, url) => {
      const id = layout.identities.get(url);
      if (!id) throw Errors.storageFailure(`${url} has not been identified as a node of the cluster yet`);
      const inv = await readInventory(e, this.opts.base, [local.database, dist.database]);
      return this.ensureOn(e, id, state, inv);
    });
    const ok = new Set(outcomes.filter((o) => o.ok).map((o) => o.url));
    for (const s of layout.topology.shards) {
      const nodes = [...layout.identities.values()].filter((i) => i.shard === s.shard);
      if (!nodes.some((n) => ok.has(n.url))) {
        const failed = outcomes.find((o) => !o.ok && nodes.some((n) => n.url === o.url));
        throw Errors.storageFailure(
          `cannot create ${tenant}/${table} on shard ${s.shard}: no replica of it took the DDL` +
            (failed && !failed.ok ? ` (${failed.error instanceof Error ? failed.error.message : String(failed.error)})` : ' (none reachable)'),
          failed && !failed.ok ? failed.error : undefined,
        );
      }
    }
    this.holdFailed(outcomes, `missed the creation of ${tenant}/${table}`);
    this.tables.set(tableRefKey(tenant, table), state);
    this.opts.logger.info({ tenant, table, generation: state.generation, nodes: ok.size }, 'cluster table created');
    return state;
  }

  /**
   * A table this process does not know but most nodes that answer already
   * hold (its catalog entry came back, or the state store was restored) is
   * adopted, rows and all. One only a minority holds is what a drop missed on
   * nodes that were down: a new generation replaces it there.
   */
  private async adoptableGeneration(local: ClickHouseLocation, dist: ClickHouseLocation): Promise<string | undefined> {
    const inventories = (await this.opts.engine.onEveryNode((e) => readInventory(e, this.opts.base, [local.database, dist.database]))).flatMap((o) =>
      o.ok ? [o.value] : [],
    );
    const held = new Map<string, number>();
    for (const inv of inventories) {
      const g = generationIn(inv, local, this.opts.zkPathPrefix);
      if (g !== undefined) held.set(g, (held.get(g) ?? 0) + 1);
    }
    const [best] = [...held].sort((a, b) => b[1] - a[1]);
    if (!best || best[1] * 2 <= inventories.length) return undefined;
    this.opts.logger.info({ table: key(local), generation: best[0], nodes: best[1] }, 'adopting a replicated table most nodes already hold');
    return best[0];
  }

  /** ADD COLUMN once per shard (on a live replica), then on the Distributed table of every node. */
  private async addColumn(state: ClusterTableState, col: ColumnSpec): Promise<void> {
    const { engine } = this.opts;
    const layout = this.opts.layout();
    const local = this.localLocation(state.tenant, state.table);
    const dist = this.distLocation(state.tenant, state.table);
    const alter = { settings: { replication_alter_columns_timeout: this.opts.alterTimeoutSeconds ?? DEFAULT_ALTER_TIMEOUT_SECONDS } };
    // Shards in parallel: with a replica down (or its alter thread stuck) each ALTER waits out its timeout.
    const retry = { retriable: RETRIABLE_WRITE, deadlineMs: this.opts.retryDeadlineMs ?? DEFAULT_RETRY_DEADLINE_MS };
    const addOnShard = (shard: number) =>
      withClusterRetry(
        () =>
          this.onShard(shard, async (e) => {
            try {
              await e.exec(`ALTER TABLE ${quoted(local)} ADD COLUMN ${columnDdl(col)}`, alter);
            } catch (err) {
              const codes = clickhouseErrorCodes(err);
              // 341: in ZooKeeper; the replicas apply it from there (awaited below), one that is down when it returns.
              if (codes.includes(ALTER_ASYNC)) return;
              if (!codes.includes(ALREADY_EXISTS)) throw err;
              await this.checkColumnType(e, local, col);
            }
          }),
        retry,
      );
    await Promise.all(layout.topology.shards.map((s) => addOnShard(s.shard)));
    await Promise.all(layout.topology.shards.map((s) => this.awaitColumnOnShard(s.shard, local, col)));
    const outcomes = await engine.onEveryNode(async (e) => {
      try {
        await e.exec(`ALTER TABLE ${quoted(dist)} ADD COLUMN ${columnDdl(col)}`);
      } catch (err) {
        if (!clickhouseErrorCodes(err).includes(ALREADY_EXISTS)) throw err;
        await this.checkColumnType(e, dist, col);
      }
    });
    this.holdFailed(outcomes, `missed column ${col.name} of ${state.tenant}/${state.table}`);
    state.columns.set(col.name, col.type);
    this.opts.logger.info({ tenant: state.tenant, table: state.table, column: col.name, type: col.type }, 'cluster column added');
  }

  /**
   * Waits until every live replica of the shard has the column in its local
   * table. After its ZooKeeper session was lost and renewed, an 18.16 replica
   * stops applying ALTERs from ZooKeeper (the column is there, its table never
   * gets it) until the replica is restarted: SYSTEM RESTART REPLICA does that
   * for the one table. A replica still without it is held until reconciled.
   */
  private async awaitColumnOnShard(shard: number, local: ClickHouseLocation, col: ColumnSpec): Promise<void> {
    const { engine } = this.opts;
    const nodes = [...this.opts.layout().identities.values()].filter((i) => i.shard === shard && !engine.isQuarantined(i.url));
    await Promise.all(
      nodes.map(async (n) => {
        try {
          const has = () => engine.onNode(n.url, async (e) => (await columnsOf(e, local)).has(col.name));
          if (await pollUntil(has, APPLY_WAIT_MS)) return;
          await engine.onNode(n.url, (e) => e.exec(`SYSTEM RESTART REPLICA ${quoted(local)}`));
          if (await pollUntil(has, RESTARTED_APPLY_WAIT_MS)) return;
          engine.hold(n.url, `its replica of ${key(local)} has not applied column ${col.name}`);
          this.opts.logger.warn({ node: n.url, table: key(local), column: col.name }, 'a replica did not apply a new column; it stays out of rotation until it has');
        } catch (err) {
          // A replica that does not answer is held by the engine and reconciled when it returns.
          if (!isNodeUnreachable(err)) this.opts.logger.warn({ node: n.url, err }, 'could not check a replica for a new column');
        }
      }),
    );
  }

  /**
   * Makes one node hold the table as `state` says; returns how many promoted
   * columns its local table still lacks (they come by replication).
   */
  private async ensureOn(e: ServerEngine, id: NodeIdentity, state: ClusterTableState, inv: NodeInventory): Promise<number> {
    const local = this.localLocation(state.tenant, state.table);
    const dist = this.distLocation(state.tenant, state.table);
    for (const db of [dist.database, local.database]) {
      if (!inv.databases.has(db)) await e.exec(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(db)}`);
    }
    let localColumns = inv.columns.get(key(local));
    const generation = generationIn(inv, local, this.opts.zkPathPrefix);
    if (generation !== undefined && generation !== state.generation) {
      if (compareGenerations(generation, state.generation) > 0) {
        throw Errors.storageFailure(`${key(local)} on this node is of a newer generation (${generation}) than this process knows (${state.generation})`);
      }
      // Left from a table dropped while this node was away: its rows must not come back.
      this.opts.logger.warn({ table: key(local), stale: generation, current: state.generation }, 'dropping a replicated table of an older generation');
      await e.exec(`DROP TABLE IF EXISTS ${quoted(local)}`);
      localColumns = undefined;
    }
    if (generation !== state.generation || localColumns === undefined) {
      // A new replica of an existing table must match the table's columns in ZooKeeper.
      const existing = await this.zooKeeperColumns(e, this.zooKeeperPath(state, id.shardMacro));
      const defs = existing ?? [...FIXED_COLUMNS_DDL, ...[...state.columns].map(([name, type]) => columnDdl({ name, type }))];
      const zkPath = replicatedTablePath(this.opts.zkPathPrefix, local, state.generation);
      await e.exec(
        `CREATE TABLE IF NOT EXISTS ${quoted(local)} (${defs.join(', ')}) ` +
          `ENGINE = ReplicatedReplacingMergeTree(${quoteString(zkPath)}, '{replica}', lsn) PARTITION BY date ORDER BY data_id`,
      );
      localColumns = await columnsOf(e, local);
    }
    const distColumns = inv.columns.get(key(dist));
    if (distColumns === undefined) {
      const defs = [...FIXED_COLUMNS_DDL, ...[...state.columns].map(([name, type]) => columnDdl({ name, type }))];
      await e.exec(
        `CREATE TABLE IF NOT EXISTS ${quoted(dist)} (${defs.join(', ')}) ` +
          `ENGINE = Distributed(${quoteString(this.opts.cluster)}, ${quoteString(local.database)}, ${quoteString(local.table)}, ${this.opts.shardingKey})`,
      );
    } else {
      for (const [name, type] of state.columns) {
        if (distColumns.has(name)) continue;
        try {
          await e.exec(`ALTER TABLE ${quoted(dist)} ADD COLUMN ${columnDdl({ name, type })}`);
        } catch (err) {
          if (!clickhouseErrorCodes(err).includes(ALREADY_EXISTS)) throw err;
        }
      }
    }
    let missing = [...state.columns.keys()].filter((name) => !localColumns.has(name));
    if (missing.length > 0 && localColumns.size > 0) {
      // They are in ZooKeeper; a replica that lost its session may have stopped applying them (see awaitColumnOnShard).
      await e.exec(`SYSTEM RESTART REPLICA ${quoted(local)}`);
      const have = await columnsOf(e, local);
      missing = missing.filter((name) => !have.has(name));
    }
    return missing.length;
  }

  /**
   * Finds the table's stray parts on one node and restarts its replica until
   * they are gone. Returns why the node must wait instead, when 18.16 would
   * refuse the restart (a young table whose stray parts hold most of its
   * rows): once the rows sent again have reached it, the restart is accepted.
   */
  private async removeStrayParts(e: ServerEngine, id: NodeIdentity, state: ClusterTableState): Promise<string | undefined> {
    const local = this.localLocation(state.tenant, state.table);
    const zkPath = this.zooKeeperPath(state, id.shardMacro);
    const found = await strayPartsOn(e, local, zkPath, id.replica);
    if (found.stray.length === 0) return undefined;
    const log = { node: id.url, shard: id.shard, replica: id.replica, table: key(local), parts: found.stray };
    const names = found.stray.map((p) => p.part).join(', ');
    if (found.restartRefused) {
      this.opts.logger.warn(log, 'a replica holds stray parts that SYSTEM RESTART REPLICA would not drop yet (they hold most of its rows); it waits out of rotation');
      return `holds stray parts of ${key(local)} (${names}) that a restart would not drop yet`;
    }
    this.opts.logger.warn(log, 'a replica holds stray parts, which its shard does not (an insert that lost ZooKeeper, or a failed quorum); restarting its table drops them');
    try {
      await restartReplica(e, local);
    } catch (err) {
      if (clickhouseErrorCodes(err).includes(TOO_MANY_UNEXPECTED_DATA_PARTS)) {
        this.opts.logger.error(
          { ...log, err },
          '18.16 did not attach the table again after SYSTEM RESTART REPLICA: it stays detached on this node until the server starts with flags/force_restore_data (README, Cluster mode)',
        );
      }
      throw err;
    }
    if (!(await pollUntil(async () => (await strayPartsOn(e, local, zkPath, id.replica)).stray.length === 0, STRAY_PARTS_WAIT_MS))) {
      throw new StrayPartsRemainError(`${id.url} still holds stray parts of ${key(local)} after SYSTEM RESTART REPLICA: ${names}`);
    }
    this.opts.onStrayParts?.(id, found.stray);
    return undefined;
  }

  private async dropOn(e: ServerEngine, ref: TableRef): Promise<void> {
    for (const loc of [this.distLocation(ref.tenant, ref.table), this.localLocation(ref.tenant, ref.table)]) {
      try {
        await e.exec(`DROP TABLE IF EXISTS ${quoted(loc)}`);
      } catch (err) {
        // IF EXISTS does not cover a missing database on 18.16: nothing to drop.
        if (!isUnknownTableError(err)) throw err;
      }
    }
  }

  /** Runs `fn` on a live replica of the shard: nodes in rotation first, the next one when a node does not answer. */
  async onShard<T>(shard: number, fn: (e: ServerEngine) => Promise<T>): Promise<T> {
    const { engine } = this.opts;
    const nodes = [...this.opts.layout().identities.values()].filter((i) => i.shard === shard);
    const rank = (url: string) => (engine.isQuarantined(url) ? 2 : engine.isHeld(url) ? 1 : 0);
    nodes.sort((a, b) => rank(a.url) - rank(b.url));
    let last: unknown = Errors.storageFailure(`no replica of shard ${shard} has been reached yet`);
    for (const n of nodes) {
      try {
        return await engine.onNode(n.url, fn);
      } catch (err) {
        if (!isNodeUnreachable(err)) throw err;
        last = err;
      }
    }
    throw last;
  }

  private holdFailed(outcomes: ReadonlyArray<{ url: string; ok: boolean; error?: unknown }>, reason: string): void {
    for (const o of outcomes) {
      if (o.ok) continue;
      this.opts.engine.hold(o.url, reason);
      this.opts.logger.warn({ node: o.url, err: o.error }, `cluster node ${reason}; it is brought up to date before it takes calls again`);
    }
  }

  /** After "already exists": fine when the column has the wanted type. */
  private async checkColumnType(e: ServerEngine, loc: ClickHouseLocation, col: ColumnSpec): Promise<void> {
    const have = (await columnsOf(e, loc)).get(col.name);
    if (have !== undefined && columnTypeOf(have) !== col.type) {
      throw Errors.conflict(`column ${col.name} of ${key(loc)} is ${have}, cannot make it ${col.type}`);
    }
  }

  /** The column definitions of a replicated table in ZooKeeper, or undefined when the path does not exist. */
  private async zooKeeperColumns(e: ServerEngine, zkPath: string): Promise<string[] | undefined> {
    let rows: { value: string }[];
    try {
      rows = await e.query<{ value: string }>(`SELECT value FROM system.zookeeper WHERE path = ${quoteString(zkPath)} AND name = 'columns'`);
    } catch (err) {
      // 18.16 answers a path that does not exist with a ZooKeeper "no node" error.
      if (/no node/i.test(err instanceof Error ? err.message : String(err))) return undefined;
      throw err;
    }
    const value = rows[0]?.value;
    return value === undefined ? undefined : parseZooKeeperColumns(value);
  }



  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function quoted(loc: ClickHouseLocation): string {
  return `${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)}`;
}
