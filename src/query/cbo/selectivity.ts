// How many rows a predicate keeps, from column statistics. Classic System R
// style estimates: 1/ndv for equality, range fraction between min and max,
// independence between conjuncts. Unknown shapes fall back to a default.
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

function rangeFraction(stat: ColumnStat | undefined, lo: number | undefined, hi: number | undefined, fallback: number): number {
  if (!stat || stat.min === undefined || stat.max === undefined) return fallback;
  const span = stat.max - stat.min;
  const from = Math.max(lo ?? stat.min, stat.min);
  const to = Math.min(hi ?? stat.max, stat.max);
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
          return stat ? (1 - stat.nullFraction) / Math.max(1, stat.distinct) : w.defaultSelectivity / 3;
        case '!=':
          return stat ? clamp((1 - stat.nullFraction) * (1 - 1 / Math.max(1, stat.distinct))) : 1 - w.defaultSelectivity / 3;
        case '<':
        case '<=':
        case '>':
        case '>=': {
          if (v === undefined) return w.defaultSelectivity;
          const lower = (e.op === '>' || e.op === '>=') !== flip;
          return lower ? rangeFraction(stat, v, undefined, w.defaultSelectivity) : rangeFraction(stat, undefined, v, w.defaultSelectivity);
        }
        default:
          return w.defaultSelectivity;
      }
    }
    case 'between': {
      const s = rangeFraction(stats(e.expr), litNumber(e.low), litNumber(e.high), w.defaultSelectivity / 2);
      return e.negated ? 1 - s : s;
    }
    case 'in': {
      const stat = stats(e.expr);
      const s = stat ? clamp((e.list.length * (1 - stat.nullFraction)) / Math.max(1, stat.distinct)) : clamp((e.list.length * w.defaultSelectivity) / 3);
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
