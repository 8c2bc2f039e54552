// Everything the dashboard page shows, in one JSON document it polls:
// service health, workers, headline counters, chart series, tenants, alerts,
// pending approvals, recent audit entries and recent logs.
import type { ApprovalRecord } from '../../auth/governance/approval-store.js';
import type { AuditEntry } from '../../auth/governance/audit-log.js';
import type { AlertStatus } from '../../monitoring/alert-engine.js';
import { WORKER_CIRCUIT_METRIC, WORKER_DOWN_FAILED_SHARE, WORKER_HEALTH_CHECKS_METRIC, WORKER_HEALTH_WINDOW_SEC } from '../../monitoring/alert-rules.js';
import { redactEntry } from '../../monitoring/log-redaction.js';
import { escapeRegex, evaluate, type MetricExpr } from '../../monitoring/metric-expression.js';
import type { ChartData } from '../../monitoring/metric-history.js';
import type { AlertingRuntime } from '../../monitoring/alerting.js';
import { seriesOf } from '../../monitoring/metric-snapshot.js';
import type { LogEntry } from '../../platform/log-buffer.js';
import type { ClusterStatus } from '../../storage/clickhouse/cluster-monitor.js';
import type { MonitoringDeps } from './index.js';

export interface DashboardSnapshot {
  generatedAt: string;
  version: string;
  environment: string;
  uptimeSeconds: number;
  services: Array<{ service: string; status: string; ready: boolean; port: number | null; reasons?: string[] }>;
  workers: Array<{ service: string; worker: string; up: boolean; circuit: string; failedCheckShare: number | null }>;
  /** Cluster mode: every shard and replica as last read (null outside cluster mode or before the first read). */
  cluster: ClusterStatus | null;
  counters: Record<string, number | null>;
  charts: ChartData[];
  tenants: Array<{ tenant: string; tables: number; rows: number; bytes: number; partitions: number; rowsPerSecond: number }>;
  alerts: AlertStatus[];
  /** Destructive operations waiting for a second admin. */
  approvals: ApprovalRecord[];
  /** The newest audit entries. */
  audit: AuditEntry[];
  logs: LogEntry[];
}

const SNAPSHOT_APPROVALS = 50;
const SNAPSHOT_AUDIT = 30;

const COUNTERS: Record<string, MetricExpr> = {
  rowsAcknowledged: { kind: 'value', metric: 'ingest_rows_total' },
  rowsApplied: { kind: 'value', metric: 'applier_rows_applied_total' },
  ingestRowsPerSecond: { kind: 'rate', metric: 'ingest_rows_total', windowSec: 5 },
  walLagRecords: { kind: 'value', metric: 'applier_lag_wal_records' },
  applierLagSeconds: { kind: 'value', metric: 'applier_lag_seconds' },
  walBytesWritten: { kind: 'value', metric: 'wal_bytes_written_total' },
  requestsPerSecond: { kind: 'rate', metric: 'http_requests_total', windowSec: 5 },
};

/** The dashboard's own polling would otherwise fill the log panel. */
function isOwnPolling(e: LogEntry): boolean {
  return e.level <= 30 && e.service === 'monitoring' && e.msg === 'request completed';
}

export async function buildSnapshot(deps: MonitoringDeps, opts: { points: number; logs: number }): Promise<DashboardSnapshot> {
  const mon = deps.alerting;
  const board = new Map(deps.healthBoard.snapshot().map((h) => [h.service, h]));
  const services = deps.config.services.map((id) => {
    const h = board.get(id);
    return h
      ? { service: id, status: h.status, ready: h.ready, port: h.port, ...(h.reasons?.length ? { reasons: h.reasons } : {}) }
      : { service: id, status: 'down', ready: false, port: null };
  });

  const workers = workerSummaries(mon);

  const counters: Record<string, number | null> = {};
  for (const [name, expr] of Object.entries(COUNTERS)) counters[name] = evaluate(expr, mon.history);
  const disk = mon.disk.usage;
  counters.diskFreeBytes = disk?.freeBytes ?? null;
  counters.diskFreeRatio = disk ? Math.round(disk.freeRatio * 1000) / 1000 : null;

  const alerts = mon.alerts.list();
  counters.alertsFiring = alerts.filter((a) => a.state === 'firing').length;

  const tenants = await tenantSummaries(deps);
  counters.tenants = tenants.length;

  // Pending approvals drop their parameters here: the page shows what they will do (summary), not how.
  const approvals = (await deps.governance.approvals.list({ status: 'pending', limit: SNAPSHOT_APPROVALS })).map(({ params: _p, result: _r, ...a }) => ({ ...a, params: {} }));
  const audit = (await deps.governance.audit.query({ limit: SNAPSHOT_AUDIT })).entries;
  counters.approvalsPending = approvals.length;

  const logs = opts.logs === 0 ? [] : deps.logBuffer.query({ limit: opts.logs * 4 }).filter((e) => !isOwnPolling(e)).slice(-opts.logs).map(redactEntry);

  return {
    generatedAt: new Date().toISOString(),
    version: deps.config.version,
    environment: deps.config.environment,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    services,
    workers,
    cluster: deps.cluster?.lastStatus() ?? null,
    counters,
    charts: mon.history.chartData(opts.points),
    tenants,
    alerts,
    approvals,
    audit,
    logs,
  };
}

const CIRCUIT_STATES = ['closed', 'half-open', 'open'];

/** One entry per worker endpoint the forwarders know (their breaker gauge), with its recent health-check failures. */
function workerSummaries(mon: AlertingRuntime): DashboardSnapshot['workers'] {
  const latest = mon.history.latest();
  if (!latest) return [];
  return (seriesOf(latest, WORKER_CIRCUIT_METRIC) ?? []).map((s) => {
    const service = String(s.labels.service ?? '');
    const worker = String(s.labels.worker ?? '');
    const labels = { service: escapeRegex(service), worker: escapeRegex(worker) };
    const failedCheckShare = evaluate(
      {
        kind: 'ratio',
        numerator: { kind: 'rate', metric: WORKER_HEALTH_CHECKS_METRIC, labels: { ...labels, outcome: 'failed' }, windowSec: WORKER_HEALTH_WINDOW_SEC },
        denominator: { kind: 'rate', metric: WORKER_HEALTH_CHECKS_METRIC, labels, windowSec: WORKER_HEALTH_WINDOW_SEC },
      },
      mon.history,
    );
    return {
      service,
      worker,
      up: failedCheckShare === null || failedCheckShare < WORKER_DOWN_FAILED_SHARE,
      circuit: CIRCUIT_STATES[s.value] ?? String(s.value),
      failedCheckShare,
    };
  });
}

async function tenantSummaries(deps: MonitoringDeps): Promise<DashboardSnapshot['tenants']> {
  const byTenant = new Map<string, DashboardSnapshot['tenants'][number]>();
  for (const t of await deps.catalog.listTables()) {
    let s = byTenant.get(t.tenant);
    if (!s) byTenant.set(t.tenant, (s = { tenant: t.tenant, tables: 0, rows: 0, bytes: 0, partitions: 0, rowsPerSecond: 0 }));
    s.tables++;
    s.rows += t.rowCount;
    s.bytes += t.bytes;
    s.partitions += t.partitions;
  }
  // From the ingest counter's history, so the dashboard does not need the ingest path in this process.
  for (const s of byTenant.values()) {
    const rate = evaluate({ kind: 'rate', metric: 'ingest_rows_total', labels: { tenant: escapeRegex(s.tenant) }, windowSec: 5 }, deps.alerting.history);
    s.rowsPerSecond = rate === null ? 0 : Math.round(rate * 10) / 10;
  }
  return [...byTenant.values()].sort((a, b) => b.rows - a.rows || a.tenant.localeCompare(b.tenant));
}
