// The small expression language charts and alert rules are written in. Each
// expression turns the metric history into one number (or null: no data), so a
// new chart or rule is a line of data, not code.
import { z } from 'zod';
import { bucketsOf, seriesOf, type MetricSnapshot } from './metric-snapshot.js';

const regex = z.string().refine(
  (v) => {
    try {
      new RegExp(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);
const labels = z
  .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.union([regex, z.strictObject({ not: regex })]))
  .optional()
  .describe('label → full-match regex (like =~), or {"not": regex} (like !~)');
const metric = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
const windowSec = z.number().positive().max(3600).optional();

const valueExpr = z.object({
  kind: z.literal('value'),
  metric,
  labels,
  agg: z.enum(['sum', 'max', 'min', 'avg']).optional(),
});
const rateExpr = z.object({ kind: z.literal('rate'), metric, labels, windowSec });
const quantileExpr = z.object({ kind: z.literal('quantile'), metric, labels, q: z.number().min(0).max(1), windowSec });
const countExpr = z.object({
  kind: z.literal('count'),
  metric,
  labels,
  below: z.number().optional().describe('count only series whose value is below this'),
  above: z.number().optional().describe('count only series whose value is above this'),
});
const ratioExpr = z.object({
  kind: z.literal('ratio'),
  numerator: z.union([valueExpr, rateExpr]),
  denominator: z.union([valueExpr, rateExpr]),
  by: z.array(z.string()).optional().describe('compute the ratio per group of these labels and answer the largest'),
});

export const metricExpr = z.discriminatedUnion('kind', [valueExpr, rateExpr, quantileExpr, countExpr, ratioExpr]);
export type MetricExpr = z.infer<typeof metricExpr>;

export const DEFAULT_WINDOW_SEC = 60;

/** What an expression is evaluated against: the newest snapshot and a way to find an older one. */
export interface SnapshotSource {
  latest(): MetricSnapshot | undefined;
  /** The oldest snapshot taken at or after `t` (other than the latest), if any. */
  atOrAfter(t: number): MetricSnapshot | undefined;
}

export function evaluate(expr: MetricExpr, source: SnapshotSource): number | null {
  const now = source.latest();
  if (!now) return null;
  switch (expr.kind) {
    case 'value': {
      const series = seriesOf(now, expr.metric, expr.labels);
      if (!series || series.length === 0) return null;
      const values = series.map((s) => s.value);
      switch (expr.agg ?? 'sum') {
        case 'max':
          return Math.max(...values);
        case 'min':
          return Math.min(...values);
        case 'avg':
          return values.reduce((a, b) => a + b, 0) / values.length;
        default:
          return values.reduce((a, b) => a + b, 0);
      }
    }
    case 'count': {
      const series = seriesOf(now, expr.metric, expr.labels);
      if (!series) return null;
      return series.filter((s) => (expr.below === undefined || s.value < expr.below) && (expr.above === undefined || s.value > expr.above)).length;
    }
    case 'rate': {
      const then = source.atOrAfter(now.t - (expr.windowSec ?? DEFAULT_WINDOW_SEC) * 1000);
      if (!then || then.t >= now.t) return null;
      const current = seriesOf(now, expr.metric, expr.labels);
      if (!current) return null;
      const sum = (xs: { value: number }[] | undefined) => (xs ?? []).reduce((a, s) => a + s.value, 0);
      const a = sum(current);
      const b = sum(seriesOf(then, expr.metric, expr.labels));
      // A counter that went down was reset: its whole current value is the increase.
      const increase = a >= b ? a - b : a;
      return increase / ((now.t - then.t) / 1000);
    }
    case 'ratio': {
      if (expr.by?.length) return maxGroupRatio(expr, expr.by, now, source);
      const n = evaluate(expr.numerator, source);
      const d = evaluate(expr.denominator, source);
      if (n === null || d === null || d === 0) return null;
      return n / d;
    }
    case 'quantile': {
      const current = bucketsOf(now, expr.metric, expr.labels);
      if (!current) return null;
      const then = source.atOrAfter(now.t - (expr.windowSec ?? DEFAULT_WINDOW_SEC) * 1000);
      const before = then && then.t < now.t ? bucketsOf(then, expr.metric, expr.labels) : undefined;
      const delta = new Map<number, number>();
      for (const [le, count] of current) delta.set(le, Math.max(0, count - (before?.get(le) ?? 0)));
      return histogramQuantile(expr.q, delta);
    }
  }
}

type RatioExpr = Extract<MetricExpr, { kind: 'ratio' }>;

/** `max by (labels) (numerator / denominator)`: e.g. the worst worker's share of failed health checks. */
function maxGroupRatio(expr: RatioExpr, by: string[], now: MetricSnapshot, source: SnapshotSource): number | null {
  const groups = new Map<string, Record<string, string>>();
  for (const s of seriesOf(now, expr.denominator.metric, expr.denominator.labels) ?? []) {
    const key = Object.fromEntries(by.map((l) => [l, escapeRegex(String(s.labels[l] ?? ''))]));
    groups.set(JSON.stringify(key), key);
  }
  let worst: number | null = null;
  for (const key of groups.values()) {
    const r = evaluate(
      {
        kind: 'ratio',
        numerator: { ...expr.numerator, labels: { ...expr.numerator.labels, ...key } },
        denominator: { ...expr.denominator, labels: { ...expr.denominator.labels, ...key } },
      },
      source,
    );
    if (r !== null && (worst === null || r > worst)) worst = r;
  }
  return worst;
}

/** A label value as a label matcher that matches exactly it. */
export function escapeRegex(v: string): string {
  return v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the rank. */
export function histogramQuantile(q: number, cumulative: Map<number, number>): number | null {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  if (bounds.length === 0) return null;
  const total = cumulative.get(bounds[bounds.length - 1]!) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const bound of bounds) {
    const count = cumulative.get(bound) ?? 0;
    if (count >= rank && count > prevCount) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / (count - prevCount);
    }
    prevBound = bound === Infinity ? prevBound : bound;
    prevCount = count;
  }
  return prevBound;
}

/** Seconds of history an expression looks back over (to know how much to keep). */
export function windowOf(expr: MetricExpr): number {
  switch (expr.kind) {
    case 'rate':
    case 'quantile':
      return expr.windowSec ?? DEFAULT_WINDOW_SEC;
    case 'ratio':
      return Math.max(windowOf(expr.numerator), windowOf(expr.denominator));
    default:
      return 0;
  }
}
