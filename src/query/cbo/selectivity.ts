// How many rows a predicate keeps, from column statistics. Classic System R
// style estimates (1/ndv for equality, range fraction between min and max,
// independence between conjuncts), sharpened where a worker's column-stats job
// left the shape of a column (src/query/column-stats.ts): an equality or IN on
// a most common value takes its measured frequency, other values share what the
// common ones leave; a range reads the equi-depth histogram instead of assuming
// values spread evenly between min and max. Unknown shapes fall back to a default.
import type { ColumnValue } from '../../catalog/column-stats-sink.js';
import type { BExpr } from '../bound.js';
import type { ColumnStat } from '../column-stats.js';
import type { CostWeights } from './cost-model.js';

export type StatsLookup = (e: BExpr) => ColumnStat | undefined;

const clamp = (x: number) => Math.min(1, Math.max(0, Number.isFinite(x) ? x : 1));

function litNumber(e: BExpr): number | undefined {
  if (e.k === 'lit' && typeof e.value === 'number') return e.value;
  if (e.k === 'lit' && e.type === 'Date' && typeof e.value === 'string') return Date.parse(e.value);
  return undefined;
}

/** A literal as a most common value would hold it (JSON scalar), or undefined for what none can equal. */
function litValue(e: BExpr): ColumnValue | undefined {
  if (e.k !== 'lit' || e.value === null || e.value === undefined) return undefined;
  return e.value as ColumnValue;
}

function sameValue(a: ColumnValue, b: ColumnValue): boolean {
  if (typeof a === typeof b) return a === b;
  // A Bool column compared with 1/0.
  if (typeof a === 'boolean' && typeof b === 'number') return Number(a) === b;
  if (typeof a === 'number' && typeof b === 'boolean') return a === Number(b);
  return false;
}

/** Share of all rows equal to `v`: its measured frequency if it is a common value, else an even share of the rest. */
function equalFraction(stat: ColumnStat, v: ColumnValue | undefined): number {
  const mcv = stat.mcv;
  if (!mcv?.length) return (1 - stat.nullFraction) / Math.max(1, stat.distinct);
  if (v !== undefined) {
    const hit = mcv.find((m) => sameValue(m.value, v));
    if (hit) return hit.frequency;
  }
  const common = mcv.reduce((s, m) => s + m.frequency, 0);
  const rest = Math.max(0, 1 - stat.nullFraction - common);
  return rest / Math.max(1, stat.distinct - mcv.length);
}

/**
 * Share of non-null values below `v` (or at most `v`) by the equi-depth
 * histogram: whole buckets below, linear within the bucket `v` falls in.
 */
function histogramBelow(bounds: readonly number[], v: number, inclusive: boolean): number {
  const buckets = bounds.length - 1;
  if (buckets < 1) return 0.5;
  let below = 0;
  for (let i = 0; i < buckets; i++) {
    const lo = bounds[i]!;
    const hi = bounds[i + 1]!;
    if (hi < v || (inclusive && hi <= v)) below += 1;
    else if (lo < v) below += hi > lo ? (v - lo) / (hi - lo) : 0;
  }
  return below / buckets;
}

/** Share of all rows with lo (≤ or <) value (≤ or <) hi; either end may be open. */
function rangeFraction(
  stat: ColumnStat | undefined,
  lo: { v: number; inclusive: boolean } | undefined,
  hi: { v: number; inclusive: boolean } | undefined,
  fallback: number,
): number {
  if (!stat) return fallback;
  if (stat.histogram && stat.histogram.length >= 2) {
    const upTo = hi ? histogramBelow(stat.histogram, hi.v, hi.inclusive) : 1;
    const from = lo ? histogramBelow(stat.histogram, lo.v, !lo.inclusive) : 0;
    return clamp(Math.max(0, upTo - from) * (1 - stat.nullFraction));
  }
  if (stat.min === undefined || stat.max === undefined) return fallback;
  const span = stat.max - stat.min;
  const from = Math.max(lo?.v ?? stat.min, stat.min);
  const to = Math.min(hi?.v ?? stat.max, stat.max);
  if (to < from) return 0;
  if (span <= 0) return 1;
  return clamp(((to - from) / span) * (1 - stat.nullFraction));
}

export function selectivity(e: BExpr, stats: StatsLookup, w: CostWeights): number {
  switch (e.k) {
    case 'bin': {
      if (e.op === 'and') return selectivity(e.left, stats, w) * selectivity(e.right, stats, w);
      if (e.op === 'or') {
        const a = selectivity(e.left, stats, w);
        const b = selectivity(e.right, stats, w);
        return clamp(a + b - a * b);
      }
      const colSide = e.left.k === 'col' ? e.left : e.right.k === 'col' ? e.right : undefined;
      const other = colSide === e.left ? e.right : e.left;
      const stat = colSide ? stats(colSide) : undefined;
      const flip = colSide === e.right;
      const v = litNumber(other);
      switch (e.op) {
        case '=':
          if (colSide && other.k === 'col') return 1 / Math.max(stat?.distinct ?? 10, stats(other)?.distinct ?? 10, 1);
          return stat ? clamp(equalFraction(stat, litValue(other))) : w.defaultSelectivity / 3;
        case '!=':
          return stat ? clamp(1 - stat.nullFraction - equalFraction(stat, litValue(other))) : 1 - w.defaultSelectivity / 3;
        case '<':
        case '<=':
        case '>':
        case '>=': {
          if (v === undefined) return w.defaultSelectivity;
          // col < v keeps what lies below v; v < col (flipped) what lies above.
          const above = (e.op === '>' || e.op === '>=') !== flip;
          const inclusive = e.op === '<=' || e.op === '>=';
          const bound = { v, inclusive };
          return above ? rangeFraction(stat, bound, undefined, w.defaultSelectivity) : rangeFraction(stat, undefined, bound, w.defaultSelectivity);
        }
        default:
          return w.defaultSelectivity;
      }
    }
    case 'between': {
      const low = litNumber(e.low);
      const high = litNumber(e.high);
      const s = rangeFraction(
        stats(e.expr),
        low === undefined ? undefined : { v: low, inclusive: true },
        high === undefined ? undefined : { v: high, inclusive: true },
        w.defaultSelectivity / 2,
      );
      return e.negated ? 1 - s : s;
    }
    case 'in': {
      const stat = stats(e.expr);
      let s: number;
      if (stat?.mcv?.length) {
        // Each distinct listed value once.
        const seen: ColumnValue[] = [];
        s = 0;
        for (const item of e.list) {
          const value = litValue(item);
          if (value !== undefined && seen.some((x) => sameValue(x, value))) continue;
          if (value !== undefined) seen.push(value);
          s += equalFraction(stat, value);
        }
        s = clamp(s);
      } else {
        s = stat ? clamp((e.list.length * (1 - stat.nullFraction)) / Math.max(1, stat.distinct)) : clamp((e.list.length * w.defaultSelectivity) / 3);
      }
      return e.negated ? 1 - s : s;
    }
    case 'like': {
      const s = w.likeSelectivity;
      return e.negated ? 1 - s : s;
    }
    case 'isNull': {
      const nf = stats(e.expr)?.nullFraction ?? 0.1;
      return e.negated ? 1 - nf : nf;
    }
    case 'unary':
      return e.op === 'not' ? 1 - selectivity(e.operand, stats, w) : w.defaultSelectivity;
    case 'col':
      return 0.5;
    default:
      return w.defaultSelectivity;
  }
}
