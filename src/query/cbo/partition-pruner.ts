// Partition pruning on time predicates. The conjuncts of a scan that bound
// ts_ms (or the date column) give a [from, to) interval in epoch ms; a Parquet
// part (and its date partition) survives only if its [minTs, maxTs] meets it.
import type { PartEntry } from '../../catalog/catalog-store.js';
import type { BExpr } from '../bound.js';

export interface TimeRange {
  /** Inclusive, epoch ms. */
  fromMs?: number;
  /** Exclusive, epoch ms. */
  toMs?: number;
}

const DAY = 86_400_000;

function bound(e: BExpr): TimeRange | undefined {
  if (e.k === 'between' && !e.negated && e.expr.k === 'col') {
    const lo = value(e.expr, e.low, 'lo');
    const hi = value(e.expr, e.high, 'hi');
    if (lo === undefined || hi === undefined) return undefined;
    return { fromMs: lo, toMs: hi + (isDate(e.expr) ? DAY : 1) };
  }
  if (e.k !== 'bin' || !['=', '<', '<=', '>', '>='].includes(e.op)) return undefined;
  let op = e.op;
  let col = e.left;
  let lit = e.right;
  if (col.k !== 'col') {
    [col, lit] = [e.right, e.left];
    op = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' } as const)[op as '<'] ?? op;
  }
  if (col.k !== 'col') return undefined;
  const v = value(col, lit, 'lo');
  if (v === undefined) return undefined;
  const step = isDate(col) ? DAY : 1;
  switch (op) {
    case '=':
      return { fromMs: v, toMs: v + step };
    case '>':
      return { fromMs: v + step };
    case '>=':
      return { fromMs: v };
    case '<':
      return { toMs: v };
    case '<=':
      return { toMs: v + step };
    default:
      return undefined;
  }
}

function isDate(col: BExpr): boolean {
  return col.k === 'col' && col.ref.name === 'date';
}

function value(col: BExpr, lit: BExpr, _side: 'lo' | 'hi'): number | undefined {
  if (col.k !== 'col' || lit.k !== 'lit') return undefined;
  if (col.ref.name === 'ts_ms' && typeof lit.value === 'number') return lit.value;
  if (col.ref.name === 'date' && lit.type === 'Date' && typeof lit.value === 'string') {
    const ms = Date.parse(`${lit.value}T00:00:00Z`);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

/** The intersection of every time bound among the conjuncts (undefined: no bound). */
export function timeRangeOf(conjuncts: readonly BExpr[]): TimeRange | undefined {
  let range: TimeRange | undefined;
  for (const c of conjuncts) {
    const b = bound(c);
    if (!b) continue;
    range ??= {};
    if (b.fromMs !== undefined) range.fromMs = Math.max(range.fromMs ?? -Infinity, b.fromMs);
    if (b.toMs !== undefined) range.toMs = Math.min(range.toMs ?? Infinity, b.toMs);
  }
  return range;
}

export function partOverlaps(p: Pick<PartEntry, 'minTsMs' | 'maxTsMs'>, r: TimeRange | undefined): boolean {
  if (!r) return true;
  if (r.fromMs !== undefined && p.maxTsMs < r.fromMs) return false;
  if (r.toMs !== undefined && p.minTsMs >= r.toMs) return false;
  return true;
}

/** Fraction of a part's rows inside the range, assuming times spread evenly between its min and max. */
export function overlapFraction(p: Pick<PartEntry, 'minTsMs' | 'maxTsMs'>, r: TimeRange | undefined): number {
  if (!r) return 1;
  if (!partOverlaps(p, r)) return 0;
  const span = p.maxTsMs - p.minTsMs + 1;
  const from = Math.max(p.minTsMs, r.fromMs ?? -Infinity);
  const to = Math.min(p.maxTsMs + 1, r.toMs ?? Infinity);
  return Math.min(1, Math.max(0, (to - from) / span));
}

/** Whether a conjunct is a pure time bound (its effect is counted by pruning, not by selectivity). */
export function isTimeBound(e: BExpr): boolean {
  return bound(e) !== undefined;
}

export function prunePartitions(parts: readonly PartEntry[], r: TimeRange | undefined) {
  const kept = parts.filter((p) => partOverlaps(p, r));
  const dates = new Set(parts.map((p) => p.date));
  const keptDates = new Set(kept.map((p) => p.date));
  const months = new Set(parts.map((p) => p.date.slice(0, 7)));
  const keptMonths = new Set(kept.map((p) => p.date.slice(0, 7)));
  return { kept, dates: dates.size, keptDates: keptDates.size, months: months.size, keptMonths };
}
