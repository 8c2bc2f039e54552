// Alert rules as data: the defaults are built from config thresholds, and an
// optional JSON file (ALERT_RULES_FILE) overrides fields of a default by name,
// disables one (`"enabled": false`) or adds new rules.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AppConfig } from '../platform/config/load-config.js';
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
}

const ruleSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  summary: z.string().max(500),
  severity: z.enum(['warning', 'critical']),
  expr: metricExpr,
  op: z.enum(['>', '>=', '<', '<=']),
  threshold: z.number(),
  forMs: z.number().int().nonnegative(),
  enabled: z.boolean().optional(),
});
const fileSchema = z.array(ruleSchema.partial().required({ name: true }));

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
const NOT_PROBES = '(?!/ready$|/health$).*';

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
    },
    {
      name: 'applier_lag',
      summary: 'The oldest acknowledged record not yet applied is too old',
      severity: 'warning',
      expr: { kind: 'value', metric: 'applier_lag_seconds' },
      op: '>',
      threshold: cfg.applierLagSeconds,
      forMs,
    },
    {
      name: 'applier_stalled',
      summary: 'The applier has work but has made no progress (sink down or failing)',
      severity: 'critical',
      expr: { kind: 'value', metric: 'applier_seconds_since_progress' },
      op: '>',
      threshold: cfg.applierStallSeconds,
      forMs,
    },
    {
      name: 'http_5xx_ratio',
      summary: 'Share of HTTP responses that are 5xx over the last minute (health probes excluded)',
      severity: 'warning',
      // Probes are left out: /ready answers 503 by design while a node boots or drains.
      expr: {
        kind: 'ratio',
        numerator: { kind: 'rate', metric: 'http_requests_total', labels: { status: '5..', route: NOT_PROBES }, windowSec: 60 },
        denominator: { kind: 'rate', metric: 'http_requests_total', labels: { route: NOT_PROBES }, windowSec: 60 },
      },
      op: '>',
      threshold: cfg.errorRatio,
      forMs,
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
    },
    {
      name: 'circuit_breaker_open',
      summary: 'Circuit breakers to remote workers that are open',
      severity: 'warning',
      expr: { kind: 'count', metric: WORKER_CIRCUIT_METRIC, above: 1.5 },
      op: '>',
      threshold: 0,
      forMs,
    },
    {
      name: 'disk_free_low',
      summary: 'Little free space left on the file system holding DATA_DIR',
      severity: 'critical',
      expr: { kind: 'value', metric: 'data_dir_free_ratio', agg: 'min' },
      op: '<',
      threshold: cfg.diskFreeRatio,
      forMs,
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
      const merged = { forMs: cfg.forMs, severity: 'warning', summary: '', ...rules.get(o.name), ...o };
      const parsed = ruleSchema.safeParse(merged);
      if (!parsed.success) throw new Error(`ALERT_RULES_FILE ${cfg.rulesFile}: rule '${o.name}': ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      rules.set(o.name, parsed.data);
    }
  }
  return [...rules.values()].filter((r) => r.enabled !== false).map(({ enabled: _enabled, ...r }) => r);
}
