// Recent registry snapshots (kept only as long as the longest rate window needs)
// and, per chart, a fixed-size ring of computed points for the dashboard.
import type { Registry } from 'prom-client';
import type { ChartSpec } from './charts.js';
import { evaluate, windowOf, type SnapshotSource } from './metric-expression.js';
import { captureSnapshot, type MetricSnapshot } from './metric-snapshot.js';

export interface ChartData {
  id: string;
  title: string;
  unit: string;
  /** Epoch ms of each point, shared by all series of the chart. */
  times: number[];
  series: Array<{ label: string; values: Array<number | null>; latest: number | null }>;
}

class PointRing {
  private readonly times: number[] = [];
  private readonly values: Array<Array<number | null>>;

  constructor(
    private readonly capacity: number,
    seriesCount: number,
  ) {
    this.values = Array.from({ length: seriesCount }, () => []);
  }

  push(t: number, row: Array<number | null>): void {
    this.times.push(t);
    row.forEach((v, i) => this.values[i]!.push(v));
    if (this.times.length > this.capacity) {
      this.times.shift();
      for (const s of this.values) s.shift();
    }
  }

  last(points: number): { times: number[]; values: Array<Array<number | null>> } {
    const from = Math.max(0, this.times.length - points);
    return { times: this.times.slice(from), values: this.values.map((s) => s.slice(from)) };
  }
}

export class MetricHistory implements SnapshotSource {
  private readonly snapshots: MetricSnapshot[] = [];
  private readonly rings: PointRing[];
  private readonly keepMs: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly registry: Registry,
    private readonly charts: readonly ChartSpec[],
    opts: { chartPoints: number; extraWindowSec?: number },
  ) {
    this.rings = charts.map((c) => new PointRing(opts.chartPoints, c.series.length));
    const windows = [opts.extraWindowSec ?? 0, ...charts.flatMap((c) => c.series.map((s) => windowOf(s.expr)))];
    this.keepMs = (Math.max(...windows) + 5) * 1000;
  }

  latest(): MetricSnapshot | undefined {
    return this.snapshots[this.snapshots.length - 1];
  }

  atOrAfter(t: number): MetricSnapshot | undefined {
    const latest = this.latest();
    for (const s of this.snapshots) {
      if (s === latest) return undefined;
      if (s.t >= t) return s;
    }
    return undefined;
  }

  /** Takes a snapshot; with `chart`, also appends one point to every chart. Captures run one at a time, in order. */
  capture(opts: { chart: boolean }): Promise<MetricSnapshot> {
    const next = this.queue.then(() => this.captureNow(opts));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async captureNow(opts: { chart: boolean }): Promise<MetricSnapshot> {
    const now = Date.now();
    const snap = await captureSnapshot(this.registry, now);
    this.snapshots.push(snap);
    while (this.snapshots.length > 2 && this.snapshots[0]!.t < now - this.keepMs) this.snapshots.shift();
    if (opts.chart) {
      this.charts.forEach((chart, i) => {
        this.rings[i]!.push(
          now,
          chart.series.map((s) => round(evaluate(s.expr, this))),
        );
      });
    }
    return snap;
  }

  chartData(points: number): ChartData[] {
    return this.charts.map((chart, i) => {
      const { times, values } = this.rings[i]!.last(points);
      return {
        id: chart.id,
        title: chart.title,
        unit: chart.unit,
        times,
        series: chart.series.map((s, j) => {
          const vs = values[j] ?? [];
          return { label: s.label, values: vs, latest: vs.length ? (vs[vs.length - 1] ?? null) : null };
        }),
      };
    });
  }
}

function round(v: number | null): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  return Math.abs(v) >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 1e6) / 1e6;
}
