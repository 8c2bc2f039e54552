// Alert rules as data: the defaults are built from config thresholds, and an
// optional JSON file (ALERT_RULES_FILE) overrides fields of a default by name,
// disables one (`"enabled": false`) or adds new rules.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AppConfig } from '../platform/config/load-config.js';
import { TENANT_ID_PATTERN } from '../platform/http/tenant-id.js';
import { metricExpr, type MetricExpr } from './metric-expression.js';

export type AlertOp = '>' | '>=' | '<' | '<=';

export interface AlertRule {
  name: string;
  summary: string;
  severity: 'warning' | 'critical';
  expr: MetricExpr;
  op: AlertOp;
  threshold: number;
  /** How long the condition must hold before the alert fires (pending until then). */
  forMs: number;
  /** Extra labels sent with the alert (Alertmanager routes on them); `service` is always set. */
  labels: Record<string, string>;
}

const ruleSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  summary: z.string().max(500),
  severity: z.enum(['warning', 'critical']),
  expr: metricExpr,
  op: z.enum(['>', '>=', '<', '<=']),
  threshold: z.number(),
  forMs: z.number().int().nonnegative(),
  labels: z
    .record(
      z
        .string()
        .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/)
        .refine((k) => k !== 'alertname' && k !== 'severity' && !k.startsWith('__'), { message: 'alertname and severity come from name and severity; __ names are reserved' }),
      z.string().max(256),
    )
    .default({}),
  enabled: z.boolean().optional(),
});
const fileSchema = z.array(ruleSchema.partial().required({ name: true }));

/** The `service` label of rules that do not name one. */
export const DEFAULT_SERVICE_LABEL = 'control-plane';

/**
 * Metrics of the remote-worker feature (src/workers/metrics.ts), by {service, worker}; the
 * rules stay inactive ("no data") while no worker is configured.
 */
export const WORKER_HEALTH_CHECKS_METRIC = 'worker_health_checks_total';
/** 0 closed, 1 half-open, 2 open. */
export const WORKER_CIRCUIT_METRIC = 'worker_circuit_state';
/** A worker is down when at least this share of its health checks failed over the window. */
export const WORKER_DOWN_FAILED_SHARE = 0.5;
export const WORKER_HEALTH_WINDOW_SEC = 30;

/** Every route template but the health probes. */
const NOT_PROBES = { not: '/ready|/health' };
/** 503 answers that are an expected, bounded wait rather than a fault (error codes). */
const EXPECTED_UNAVAILABLE = { not: 'not_fresh' };

export function defaultAlertRules(cfg: AppConfig['monitoring']['alerts']): AlertRule[] {
  const forMs = cfg.forMs;
  return [
    {
      name: 'wal_lag',
      summary: 'Too many acknowledged WAL records are not yet applied to ClickHouse and Parquet',
      severity: 'warning',
      expr: { kind: 'value', metric: 'applier_lag_wal_records' },
      op: '>',
      threshold: cfg.walLagRecords,
      forMs,
      labels: { service: 'tenant-node' },
    },
    {
      name: 'applier_lag',
      summary: 'The oldest acknowledged record not yet applied is too old',
      severity: 'warning',
      expr: { kind: 'value', metric: 'applier_lag_seconds' },
      op: '>',
      threshold: cfg.applierLagSeconds,
      forMs,
      labels: { service: 'tenant-node' },
    },
    {
      name: 'applier_stalled',
      summary: 'The applier has work but has made no progress (sink down or failing)',
      severity: 'critical',
      expr: { kind: 'value', metric: 'applier_seconds_since_progress' },
      op: '>',
      threshold: cfg.applierStallSeconds,
      forMs,
      labels: { service: 'tenant-node' },
    },
    {
      name: 'http_5xx_ratio',
      summary: 'Share of HTTP responses that are 5xx over the last minute (health probes excluded)',
      severity: 'warning',
      // Probes are left out: /ready answers 503 by design while a node boots or drains.
      expr: {
        kind: 'ratio',
        // not_fresh: a query told to retry while the applier catches up is not a server fault.
        numerator: { kind: 'rate', metric: 'http_requests_total', labels: { status: '5..', route: NOT_PROBES, code: EXPECTED_UNAVAILABLE }, windowSec: 60 },
        denominator: { kind: 'rate', metric: 'http_requests_total', labels: { route: NOT_PROBES }, windowSec: 60 },
      },
      op: '>',
      threshold: cfg.errorRatio,
      forMs,
      labels: { service: 'control-plane' },
    },
    {
      name: 'worker_down',
      summary: 'A remote worker fails most of its health checks (worst worker, last 30 s)',
      severity: 'warning',
      expr: {
        kind: 'ratio',
        numerator: { kind: 'rate', metric: WORKER_HEALTH_CHECKS_METRIC, labels: { outcome: 'failed' }, windowSec: WORKER_HEALTH_WINDOW_SEC },
        denominator: { kind: 'rate', metric: WORKER_HEALTH_CHECKS_METRIC, windowSec: WORKER_HEALTH_WINDOW_SEC },
        by: ['service', 'worker'],
      },
      op: '>=',
      threshold: WORKER_DOWN_FAILED_SHARE,
      forMs,
      labels: { service: 'remote-workers' },
    },
    {
      name: 'circuit_breaker_open',
      summary: 'Circuit breakers to remote workers that are open',
      severity: 'warning',
      expr: { kind: 'count', metric: WORKER_CIRCUIT_METRIC, above: 1.5 },
      op: '>',
      threshold: 0,
      forMs,
      labels: { service: 'remote-workers' },
    },
    // Cluster mode (src/storage/clickhouse/cluster-metrics.ts): without a cluster these metrics do not exist and the rules stay inactive.
    {
      name: 'clickhouse_replica_down',
      summary: 'A replica of the ClickHouse cluster does not answer (inserts still reach their quorum while enough replicas of its shard do)',
      severity: 'critical',
      expr: { kind: 'count', metric: 'clickhouse_replica_up', below: 0.5 },
      op: '>',
      threshold: 0,
      forMs,
      labels: { service: 'clickhouse' },
    },
    {
      name: 'clickhouse_replica_readonly',
      summary: 'A ClickHouse replica has read-only tables (it lost ZooKeeper): it takes no inserts',
      severity: 'critical',
      expr: { kind: 'count', metric: 'clickhouse_replica_readonly', above: 0.5 },
      op: '>',
      threshold: 0,
      forMs,
      labels: { service: 'clickhouse' },
    },
    {
      name: 'clickhouse_replication_queue',
      summary: 'A ClickHouse replica has a long replication queue (largest over replicas)',
      severity: 'warning',
      expr: { kind: 'value', metric: 'clickhouse_replica_queue_size', agg: 'max' },
      op: '>',
      threshold: cfg.replicaQueueSize,
      forMs,
      labels: { service: 'clickhouse' },
    },
    {
      name: 'clickhouse_replica_delay',
      summary: 'A ClickHouse replica is behind the freshest replica of its shard (seconds, largest over replicas)',
      severity: 'warning',
      expr: { kind: 'value', metric: 'clickhouse_replica_absolute_delay_seconds', agg: 'max' },
      op: '>',
      threshold: cfg.replicaDelaySeconds,
      forMs,
      labels: { service: 'clickhouse' },
    },
    {
      name: 'clickhouse_zookeeper_unreachable',
      summary: 'No ClickHouse replica reaches ZooKeeper: inserts are refused (the WAL keeps acknowledging) until it returns',
      severity: 'critical',
      expr: { kind: 'value', metric: 'clickhouse_zookeeper_reachable', agg: 'min' },
      op: '<',
      threshold: 1,
      forMs,
      labels: { service: 'clickhouse' },
    },
    {
      name: 'clickhouse_replica_columns_behind',
      summary: 'A ClickHouse replica missed more than 2 column additions: 18.16 will not load its table until an operator sets flags/force_restore_data (README, Cluster mode)',
      severity: 'critical',
      expr: { kind: 'value', metric: 'clickhouse_replica_columns_behind', agg: 'max' },
      op: '>',
      threshold: 2,
      forMs: 0,
      labels: { service: 'clickhouse' },
    },
    {
      name: 'disk_free_low',
      summary: 'Little free space left on the file system holding DATA_DIR',
      severity: 'critical',
      expr: { kind: 'value', metric: 'data_dir_free_ratio', agg: 'min' },
      op: '<',
      threshold: cfg.diskFreeRatio,
      forMs,
      labels: { service: 'control-plane' },
    },
  ];
}

/** Defaults merged with ALERT_RULES_FILE; throws naming the file and the problem. */
export function loadAlertRules(cfg: AppConfig['monitoring']['alerts']): AlertRule[] {
  const rules = new Map(defaultAlertRules(cfg).map((r) => [r.name, r as AlertRule & { enabled?: boolean }]));
  if (cfg.rulesFile) {
    let overrides: z.infer<typeof fileSchema>;
    try {
      overrides = fileSchema.parse(JSON.parse(readFileSync(cfg.rulesFile, 'utf8')));
    } catch (err) {
      throw new Error(`ALERT_RULES_FILE ${cfg.rulesFile}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    for (const o of overrides) {
      const base = rules.get(o.name);
      // Labels of an override are merged into the default's, so `{"labels": {"team": "x"}}` keeps `service`.
      const merged = { forMs: cfg.forMs, severity: 'warning', summary: '', ...base, ...o, labels: { ...base?.labels, ...o.labels } };
      const parsed = ruleSchema.safeParse(merged);
      if (!parsed.success) throw new Error(`ALERT_RULES_FILE ${cfg.rulesFile}: rule '${o.name}': ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      rules.set(o.name, parsed.data);
    }
  }
  return [...rules.values()]
    .filter((r) => r.enabled !== false)
    .map(({ enabled: _enabled, ...r }) => ({ ...r, labels: { service: DEFAULT_SERVICE_LABEL, ...r.labels } }));
}

/**
 * The label set an alert of this rule is sent with: alertname, severity, the
 * rule's labels and, when its expression is about one tenant (a literal
 * `tenant` matcher), that tenant.
 */
export function alertLabels(rule: AlertRule): Record<string, string> {
  const tenant = tenantOf(rule.expr);
  return { alertname: rule.name, severity: rule.severity, ...(tenant ? { tenant } : {}), ...rule.labels };
}

function tenantOf(expr: MetricExpr): string | undefined {
  if (expr.kind === 'ratio') return tenantOf(expr.numerator) ?? tenantOf(expr.denominator);
  const m = expr.labels?.tenant;
  return typeof m === 'string' && TENANT_ID_PATTERN.test(m) ? m : undefined;
}
