// Metrics of cluster mode: each replica's status as the monitor last read it
// (the default alerts watch these), the statements retried after a
// retriable failure and the stray parts removed from replicas.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterFailure } from './cluster-errors.js';
import type { ClusterStatus } from './cluster-monitor.js';
import type { StrayPart } from './cluster-stray-parts.js';

export class ClusterMetrics {
  readonly up: Gauge<'shard' | 'replica'>;
  readonly readOnly: Gauge<'shard' | 'replica'>;
  readonly queueSize: Gauge<'shard' | 'replica'>;
  readonly delay: Gauge<'shard' | 'replica'>;
  readonly columnsBehind: Gauge<'shard' | 'replica'>;
  readonly zooKeeper: Gauge;
  readonly retries: Counter<'operation' | 'reason'>;
  readonly strayParts: Counter<'shard' | 'replica' | 'reason'>;

  constructor(registry: Registry) {
    const replicaGauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['shard', 'replica'] as const, registers: [registry] });
    this.up = replicaGauge('clickhouse_replica_up', 'Cluster replica answers (1) or not (0)');
    this.readOnly = replicaGauge('clickhouse_replica_readonly', 'Cluster replica has read-only replicated tables (lost ZooKeeper)');
    this.queueSize = replicaGauge('clickhouse_replica_queue_size', 'Entries waiting in the replica\'s replication queues');
    this.delay = replicaGauge('clickhouse_replica_absolute_delay_seconds', 'Seconds the replica is behind the freshest replica (largest over its tables)');
    this.columnsBehind = replicaGauge('clickhouse_replica_columns_behind', 'Most columns a table of the replica lacks against ZooKeeper (over 2: 18.16 needs force_restore_data)');
    this.zooKeeper = new Gauge({ name: 'clickhouse_zookeeper_reachable', help: 'Some live cluster replica reaches ZooKeeper (1) or none does (0)', registers: [registry] });
    this.retries = new Counter({
      name: 'clickhouse_cluster_retries_total',
      help: 'Cluster statements sent again after a retriable failure, by operation and failure class',
      labelNames: ['operation', 'reason'] as const,
      registers: [registry],
    });
    this.strayParts = new Counter({
      name: 'clickhouse_stray_parts_removed_total',
      help: 'Parts a replica held that its shard did not (an insert that lost ZooKeeper, a failed quorum), removed by restarting its table',
      labelNames: ['shard', 'replica', 'reason'] as const,
      registers: [registry],
    });
  }

  /** `replica` as the other series name it (its number in the shard), or its macro while the monitor has not placed it yet. */
  strayPartsRemoved(shard: number, replica: number | string, parts: readonly StrayPart[]): void {
    for (const p of parts) this.strayParts.inc({ shard: String(shard), replica: String(replica), reason: p.why === 'failed quorum' ? 'failed_quorum' : 'not_in_zookeeper' });
  }

  retried(operation: string, reason: ClusterFailure): void {
    this.retries.inc({ operation, reason });
  }

  set(status: ClusterStatus): void {
    for (const g of [this.up, this.readOnly, this.queueSize, this.delay, this.columnsBehind]) g.reset();
    for (const s of status.shards) {
      for (const r of s.replicas) {
        const labels = { shard: String(s.shard), replica: String(r.replica) };
        this.up.set(labels, r.up ? 1 : 0);
        this.readOnly.set(labels, r.readOnly ? 1 : 0);
        this.queueSize.set(labels, r.queueSize);
        this.delay.set(labels, r.absoluteDelaySeconds);
        this.columnsBehind.set(labels, r.columnsBehind);
      }
    }
    // 'unknown' (no replica answers) counts as unreachable: nothing can write either way.
    this.zooKeeper.set(status.zooKeeper === 'ok' ? 1 : 0);
  }
}
