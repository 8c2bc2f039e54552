// Cluster mode as the process runs it: the multi-node engine over every
// CLICKHOUSE_URL, what the cluster is (checked when the connection is first
// prepared), the tables on it (cluster-schema.ts), a reconciler that brings
// a node back into rotation only once it has every table and column, and the
// status monitor behind /nodes/status, the dashboard, metrics and alerts.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ClickHouseClusterConfig } from '../../platform/config/load-config.js';
import type { TableRef } from '../physical-names.js';
import { ClusterMembershipError, checkMembership, identifyNodes } from './cluster-membership.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { ClusterMonitor, type ClusterStatus } from './cluster-monitor.js';
import { ClusterSchema, type ClusterLayout } from './cluster-schema.js';
import { readClusterTopology, resolveInsertQuorum } from './cluster-topology.js';
import { isNodeUnreachable } from './cluster-errors.js';
import type { MultiNodeEngine } from './multi-node-engine.js';
import { quoteString } from './sql-literal.js';

export interface ClickHouseClusterOptions {
  engine: MultiNodeEngine;
  config: ClickHouseClusterConfig;
  /** CLICKHOUSE_DATABASE. */
  database: string;
  username?: string;
  password?: string;
  logger: Logger;
  registry: Registry;
  /** How often the replicas' status is read (metrics, alerts). */
  statusIntervalMs: number;
  /** How often held nodes are checked to come back. */
  reconcileIntervalMs?: number;
}

const DEFAULT_RECONCILE_INTERVAL_MS = 2000;

export class ClickHouseCluster {
  readonly engine: MultiNodeEngine;
  readonly schema: ClusterSchema;
  readonly metrics: ClusterMetrics;
  readonly monitor: ClusterMonitor;
  private layoutValue?: ClusterLayout;
  private reconcileTimer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;
  private stopped = false;
  /** Why each node was last kept out, so a node that stays out is logged once, not every round. */
  private readonly heldFor = new Map<string, string>();

  constructor(private readonly opts: ClickHouseClusterOptions) {
    this.engine = opts.engine;
    const log = opts.logger;
    this.schema = new ClusterSchema({
      engine: opts.engine,
      base: opts.database,
      cluster: opts.config.name,
      shardingKey: opts.config.shardingKey,
      zkPathPrefix: opts.config.zkPathPrefix,
      layout: () => this.layout,
      logger: log,
      onStrayParts: (node, parts) => {
        const placed = this.monitor.last()?.shards.flatMap((s) => s.replicas).find((r) => r.url === node.url);
        this.metrics.strayPartsRemoved(node.shard, placed?.replica ?? node.replica, parts);
      },
    });
    this.metrics = new ClusterMetrics(opts.registry);
    this.monitor = new ClusterMonitor({
      engine: opts.engine,
      schema: this.schema,
      layout: () => this.layout,
      metrics: this.metrics,
      logger: log,
      base: opts.database,
      ...(opts.username !== undefined ? { username: opts.username, password: opts.password ?? '' } : {}),
      intervalMs: opts.statusIntervalMs,
    });
  }

  get name(): string {
    return this.opts.config.name;
  }

  /** What the cluster is; throws until prepare() has run. */
  get layout(): ClusterLayout {
    if (!this.layoutValue) throw new Error('the ClickHouse cluster has not been prepared yet');
    return this.layoutValue;
  }

  get prepared(): boolean {
    return this.layoutValue !== undefined;
  }

  /**
   * Run once the engine is open, before anyone uses it: reads the topology,
   * checks CLICKHOUSE_URL lists its nodes, resolves the insert quorum, learns
   * the tables from the nodes, brings every node that answers up to date and
   * puts it in rotation. ClusterMembershipError (a configuration that cannot
   * work) is fatal; anything else is retried by the connection.
   */
  async prepare(catalogTables: () => Promise<readonly TableRef[]>): Promise<void> {
    const { engine } = this;
    const { config } = this.opts;
    const named = await engine.query<{ n: string }>(`SELECT count() AS n FROM system.clusters WHERE cluster = ${quoteString(config.name)}`);
    if (Number(named[0]?.n ?? 0) === 0) {
      const known = await engine.query<{ cluster: string }>('SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster');
      throw new ClusterMembershipError(
        `CLICKHOUSE_CLUSTER=${config.name}: the servers have no such cluster in remote_servers (they have: ${known.map((k) => k.cluster).join(', ') || 'none'})`,
      );
    }
    const topology = await readClusterTopology(engine, config.name);
    let quorum: number;
    try {
      quorum = resolveInsertQuorum(topology, config.insertQuorum);
    } catch (err) {
      throw new ClusterMembershipError(err instanceof Error ? err.message : String(err));
    }
    const identities = await identifyNodes(engine, config.name);
    checkMembership(topology, engine.nodes.map((n) => n.url), identities);
    this.layoutValue = { topology, identities, quorum };
    await this.schema.load(await catalogTables());
    await this.reconcileHeld();
    this.opts.logger.info(
      {
        cluster: config.name,
        shards: topology.shards.length,
        replicas: topology.shards.map((s) => s.replicas.length),
        insertQuorum: quorum,
        nodesInRotation: engine.standings().filter((s) => s.held === undefined).length,
      },
      'clickhouse cluster ready',
    );
    this.startLoops();
  }

  /** Status of every shard and replica, read now. */
  status(): Promise<ClusterStatus> {
    return this.monitor.refresh();
  }

  /** The status read last (undefined before the first read). */
  lastStatus(): ClusterStatus | undefined {
    return this.monitor.last();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.reconcileTimer = undefined;
    this.monitor.stop();
  }

  private startLoops(): void {
    if (this.stopped || this.reconcileTimer) return;
    this.reconcileTimer = setInterval(() => {
      this.reconciling ??= this.reconcileHeld().finally(() => (this.reconciling = undefined));
    }, this.opts.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS).unref();
    this.monitor.start();
  }

  /** Brings each held node that answers up to date and puts it back in rotation. */
  private async reconcileHeld(): Promise<void> {
    const log = this.opts.logger;
    for (const node of this.engine.nodes) {
      if (this.stopped || !this.engine.isHeld(node.url) || this.engine.isQuarantined(node.url)) continue;
      try {
        const r = await this.schema.reconcile(node.url);
        if (r.ready) {
          this.engine.releaseHold(node.url);
          this.heldFor.delete(node.url);
          log.info({ node: node.url }, 'cluster node in rotation');
        } else {
          const reason = r.detail ?? 'not up to date yet';
          this.engine.hold(node.url, reason);
          if (this.heldFor.get(node.url) !== reason) log.info({ node: node.url, reason }, 'cluster node waits for replication before it takes calls');
          this.heldFor.set(node.url, reason);
        }
      } catch (err) {
        if (isNodeUnreachable(err)) continue; // quarantined by the engine; tried again once it answers
        const reason = err instanceof Error ? err.message : String(err);
        this.engine.hold(node.url, reason);
        if (this.heldFor.get(node.url) !== reason) {
          if (err instanceof ClusterMembershipError) log.error({ node: node.url, err }, 'cluster node does not fit the cluster; it stays out of rotation');
          else log.warn({ node: node.url, err }, 'cluster node not brought up to date yet; tried again shortly');
        }
        this.heldFor.set(node.url, reason);
      }
    }
  }
}
