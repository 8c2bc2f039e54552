// The dashboard's charts, declared as data. A feature that registers a metric
// gets a chart by adding an entry here; a metric that does not exist yet shows
// "no data" until it does.
import type { MetricExpr } from './metric-expression.js';

export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series: Array<{ label: string; expr: MetricExpr }>;
}

/** Histogram the query path records per executed query (issue 5). */
export const QUERY_LATENCY_METRIC = 'query_duration_seconds';

export const DASHBOARD_CHARTS: readonly ChartSpec[] = [
  {
    id: 'ingest-rate',
    title: 'Ingest',
    unit: 'rows/s',
    series: [
      { label: 'acknowledged', expr: { kind: 'rate', metric: 'ingest_rows_total', windowSec: 5 } },
      { label: 'applied', expr: { kind: 'rate', metric: 'applier_rows_applied_total', windowSec: 5 } },
    ],
  },
  {
    id: 'query-latency',
    title: 'Query latency',
    unit: 's',
    series: [
      { label: 'p50', expr: { kind: 'quantile', metric: QUERY_LATENCY_METRIC, q: 0.5, windowSec: 30 } },
      { label: 'p99', expr: { kind: 'quantile', metric: QUERY_LATENCY_METRIC, q: 0.99, windowSec: 30 } },
    ],
  },
  {
    id: 'wal-lag',
    title: 'WAL lag (acknowledged, not yet applied)',
    unit: 'records',
    series: [{ label: 'records', expr: { kind: 'value', metric: 'applier_lag_wal_records' } }],
  },
  {
    id: 'applier-lag',
    title: 'Applier lag',
    unit: 's',
    series: [
      { label: 'oldest unapplied', expr: { kind: 'value', metric: 'applier_lag_seconds' } },
      { label: 'since progress', expr: { kind: 'value', metric: 'applier_seconds_since_progress' } },
    ],
  },
  {
    id: 'http-rate',
    title: 'HTTP requests',
    unit: 'req/s',
    series: [
      { label: 'all', expr: { kind: 'rate', metric: 'http_requests_total', windowSec: 5 } },
      { label: '5xx', expr: { kind: 'rate', metric: 'http_requests_total', labels: { status: '5..' }, windowSec: 5 } },
    ],
  },
  {
    id: 'wal-fsync',
    title: 'WAL fsync latency',
    unit: 's',
    series: [
      { label: 'p50', expr: { kind: 'quantile', metric: 'wal_fsync_duration_seconds', q: 0.5, windowSec: 30 } },
      { label: 'p99', expr: { kind: 'quantile', metric: 'wal_fsync_duration_seconds', q: 0.99, windowSec: 30 } },
    ],
  },
];
