// A point-in-time copy of every metric in the registry, keyed by family name.
// Charts and alert rules read these instead of the registry so that rates and
// histogram quantiles can be computed between two moments.
import type { Registry } from 'prom-client';

export interface SampleValue {
  labels: Record<string, string | number>;
  value: number;
  /** Set for histogram/summary parts: `<name>_bucket`, `<name>_sum`, `<name>_count`. */
  metricName?: string;
}

export interface MetricFamily {
  type: string;
  values: SampleValue[];
}

export interface MetricSnapshot {
  /** Epoch milliseconds when the snapshot was taken. */
  t: number;
  families: Map<string, MetricFamily>;
}

export async function captureSnapshot(registry: Registry, now = Date.now()): Promise<MetricSnapshot> {
  const families = new Map<string, MetricFamily>();
  for (const m of await registry.getMetricsAsJSON()) {
    // prom-client hands out its live value objects, which later increments mutate: copy them.
    const values = (m.values as SampleValue[]).map((v) => ({ labels: { ...v.labels }, value: v.value, ...(v.metricName ? { metricName: v.metricName } : {}) }));
    families.set(m.name, { type: String(m.type), values });
  }
  return { t: now, families };
}

/**
 * Label matchers are full-match regular expressions, like PromQL's `=~`;
 * `{not: regex}` matches every value the regex does not, like `!~`.
 */
export type LabelMatcher = string | { not: string };
export type LabelMatchers = Record<string, LabelMatcher>;

const compiled = new Map<string, RegExp>();
function fullMatch(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`);
    compiled.set(pattern, re);
  }
  return re;
}

export function labelsMatch(labels: Record<string, string | number>, matchers: LabelMatchers | undefined): boolean {
  if (!matchers) return true;
  for (const [name, matcher] of Object.entries(matchers)) {
    const v = labels[name];
    const value = v === undefined ? '' : String(v);
    if (typeof matcher === 'string' ? !fullMatch(matcher).test(value) : fullMatch(matcher.not).test(value)) return false;
  }
  return true;
}

/** The plain series of a family (not histogram parts), filtered by labels; undefined when the metric is absent. */
export function seriesOf(snap: MetricSnapshot, metric: string, matchers?: LabelMatchers): SampleValue[] | undefined {
  const family = snap.families.get(metric);
  if (!family) return undefined;
  return family.values.filter((v) => (v.metricName === undefined || v.metricName === metric) && labelsMatch(v.labels, matchers));
}

/** Histogram buckets summed over the matching label sets: le → cumulative count. */
export function bucketsOf(snap: MetricSnapshot, metric: string, matchers?: LabelMatchers): Map<number, number> | undefined {
  const family = snap.families.get(metric);
  if (!family || family.type !== 'histogram') return undefined;
  const out = new Map<number, number>();
  for (const v of family.values) {
    if (v.metricName !== `${metric}_bucket`) continue;
    const { le, ...rest } = v.labels;
    if (!labelsMatch(rest, matchers)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + v.value);
  }
  return out;
}
