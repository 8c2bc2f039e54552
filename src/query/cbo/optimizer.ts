// Logical → physical. Decides, with catalog statistics and the cost weights:
// which time partitions survive, whether each table is read from ClickHouse
// or from exactly the surviving Parquet files, which predicates go down into
// each scan, whether LIMIT can go down, and in which order tables are joined
// (ClickHouse builds its hash table from the right side, so the smaller
// estimated input goes right). Every node carries estimated rows and cost.
import type { PartEntry } from '../../catalog/catalog-store.js';
import type { EngineKind } from '../../storage/clickhouse/clickhouse-engine.js';
import { tablesOf, type BExpr, type BoundQuery, type ColumnRef } from '../bound.js';
import type { ColumnStat, TableStats } from '../column-stats.js';
import { displayExpr } from '../logical-plan.js';
import { GRANULE_ROWS, type CostWeights } from './cost-model.js';
import { isTimeBound, overlapFraction, prunePartitions, timeRangeOf, type TimeRange } from './partition-pruner.js';
import { selectivity } from './selectivity.js';

export interface ScanAlternative {
  source: 'clickhouse' | 'parquet';
  rowsRead: number;
  cost: number;
  available: boolean;
  reason?: string;
}

export interface ScanNode {
  op: 'scan';
  t: number;
  table: string;
  alias: string;
  source: 'clickhouse' | 'parquet';
  /** Parquet parts to read (relative to PARQUET_DIR), when source is parquet. */
  files: string[];
  /** Conjuncts evaluated inside the scan. */
  filter: BExpr[];
  timeRange?: TimeRange;
  partitions: { total: number; kept: number; pruned: number };
  limit?: number;
  rowsRead: number;
  estRows: number;
  cost: number;
  alternatives: ScanAlternative[];
}

export interface JoinNode {
  op: 'join';
  type: 'inner' | 'left';
  left: PlanTree;
  right: ScanNode;
  keys: Array<{ left: ColumnRef; right: ColumnRef }>;
  /** ClickHouse builds the hash table from the right input. */
  build: 'right';
  estRows: number;
  cost: number;
}

export type PlanTree = ScanNode | JoinNode;

export interface DisplayNode {
  op: string;
  estRows: number;
  cost: number;
  detail: Record<string, unknown>;
  children: DisplayNode[];
  /** Stage id for EXPLAIN ANALYZE (actual rows are counted per stage). */
  stage: string;
}

export interface PhysicalPlan {
  query: BoundQuery;
  tree: PlanTree;
  /** WHERE conjuncts evaluated after the joins (multi-table, or on a LEFT JOIN's nullable side). */
  residual: BExpr[];
  root: DisplayNode;
  estRows: number;
  totalCost: number;
  partitions: { total: number; kept: number; pruned: number };
  joinReordered: boolean;
}

export interface OptimizerInputs {
  parts: ReadonlyMap<number, readonly PartEntry[]>;
  stats: ReadonlyMap<number, TableStats | undefined>;
  engineKind: EngineKind;
  weights: CostWeights;
}

const DAY = 86_400_000;

export function optimize(q: BoundQuery, inputs: OptimizerInputs): PhysicalPlan {
  const w = inputs.weights;
  const statOf = (e: BExpr): ColumnStat | undefined => {
    if (e.k !== 'col') return undefined;
    const s = inputs.stats.get(e.ref.t)?.columns[e.ref.name];
    if (s) return s;
    if (e.ref.name === 'ts_ms') {
      const entry = q.tables[e.ref.t]!.entry;
      if (entry.minTsMs !== null && entry.maxTsMs !== null) return { distinct: entry.rowCount, nullFraction: 0, min: entry.minTsMs, max: entry.maxTsMs };
    }
    return undefined;
  };

  // Tables on the null-supplying side of a LEFT JOIN keep their WHERE conjuncts above the join.
  const nullable = new Set(q.joins.filter((j) => j.type === 'left').map((j) => j.t));
  const pushed = new Map<number, BExpr[]>();
  const residual: BExpr[] = [];
  for (const c of q.where) {
    const ts = tablesOf(c);
    const only = ts.size === 1 ? [...ts][0]! : undefined;
    if (only !== undefined && !nullable.has(only)) pushed.set(only, [...(pushed.get(only) ?? []), c]);
    else residual.push(c);
  }

  const single = q.tables.length === 1;
  const limitDown =
    single && !q.aggregate && q.orderBy.length === 0 && !q.distinct && residual.length === 0 && q.limit !== undefined ? q.limit + (q.offset ?? 0) : undefined;

  const scans = q.tables.map((t) => planScan(t.idx));

  function planScan(tIdx: number): ScanNode {
    const t = q.tables[tIdx]!;
    const filter = pushed.get(tIdx) ?? [];
    const range = timeRangeOf(filter);
    const parts = inputs.parts.get(tIdx) ?? [];
    const pr = prunePartitions(parts, range);
    const partRows = parts.reduce((s, p) => s + p.rows, 0);
    const rowCount = t.entry.rowCount;
    const scale = partRows > 0 ? rowCount / partRows : 1;
    let inRange: number;
    if (parts.length > 0) inRange = parts.reduce((s, p) => s + p.rows * overlapFraction(p, range), 0) * scale;
    else if (range) {
      const span = t.entry.maxTsMs !== null && t.entry.minTsMs !== null ? t.entry.maxTsMs - t.entry.minTsMs + 1 : 0;
      const from = Math.max(range.fromMs ?? -Infinity, t.entry.minTsMs ?? 0);
      const to = Math.min(range.toMs ?? Infinity, (t.entry.maxTsMs ?? 0) + 1);
      inRange = span > 0 ? (rowCount * Math.max(0, to - from)) / span : rowCount;
    } else inRange = rowCount;
    let sel = 1;
    for (const c of filter) if (!isTimeBound(c)) sel *= selectivity(c, statOf, w);
    let est = inRange * sel;

    // ClickHouse prunes by month (PARTITION BY toYYYYMM(date)) and by the data_id primary key.
    const monthRows = parts.filter((p) => pr.keptMonths.has(p.date.slice(0, 7))).reduce((s, p) => s + p.rows, 0) * scale;
    let chRead = parts.length > 0 ? monthRows : inRange;
    const pk = filter.find((c) => (c.k === 'bin' && c.op === '=' && [c.left, c.right].some((x) => x.k === 'col' && x.ref.name === 'data_id') && [c.left, c.right].some((x) => x.k === 'lit')) || (c.k === 'in' && !c.negated && c.expr.k === 'col' && c.expr.ref.name === 'data_id'));
    if (pk) chRead = Math.min(chRead, GRANULE_ROWS * (pk.k === 'in' ? pk.list.length : 1));
    const pqRead = pr.kept.reduce((s, p) => s + p.rows, 0);

    let limit: number | undefined;
    let limitFactor = 1;
    if (limitDown !== undefined) {
      limit = limitDown;
      if (est > limitDown) limitFactor = est > 0 ? limitDown / est : 1;
      est = Math.min(est, limitDown);
    }
    const alternatives: ScanAlternative[] = [{ source: 'clickhouse', rowsRead: Math.round(chRead), cost: chRead * w.clickhouseRowCost * limitFactor, available: true }];
    let pqReason: string | undefined;
    if (inputs.engineKind !== 'embedded') pqReason = 'the ClickHouse server cannot read this node’s files';
    else if (!w.parquetEnabled) pqReason = 'disabled in /optimize/config';
    else if (parts.length === 0) pqReason = 'no Parquet parts';
    else if (partRows !== rowCount) pqReason = 'Parquet parts and table row count differ (applier or compaction in progress)';
    else if (pr.kept.length === 0) pqReason = 'no part survives pruning';
    alternatives.push({
      source: 'parquet',
      rowsRead: pqRead,
      cost: (pqRead * w.parquetRowCost * limitFactor) + pr.kept.length * w.parquetFileCost,
      available: pqReason === undefined,
      ...(pqReason ? { reason: pqReason } : {}),
    });
    const best = alternatives.filter((a) => a.available).sort((a, b) => a.cost - b.cost)[0]!;
    const node: ScanNode = {
      op: 'scan',
      t: tIdx,
      table: t.table,
      alias: t.alias,
      source: best.source,
      files: best.source === 'parquet' ? pr.kept.map((p) => p.relativePath).sort() : [],
      filter,
      partitions: { total: pr.dates, kept: parts.length > 0 ? pr.keptDates : 0, pruned: pr.dates - pr.keptDates },
      rowsRead: best.rowsRead,
      estRows: est,
      cost: best.cost,
      alternatives,
    };
    if (range) node.timeRange = range;
    if (limit !== undefined) node.limit = limit;
    return node;
  }

  // ---- joins ----
  const keyNdv = (ref: ColumnRef, rows: number) => Math.max(1, Math.min(inputs.stats.get(ref.t)?.columns[ref.name]?.distinct ?? rows, rows));
  const joinRows = (type: 'inner' | 'left', l: number, r: number, keys: JoinNode['keys']) => {
    const k = keys[0]!;
    let inner = (l * r) / Math.max(keyNdv(k.left, l), keyNdv(k.right, r));
    for (const extra of keys.slice(1)) inner /= Math.max(1, Math.min(keyNdv(extra.left, l), keyNdv(extra.right, r)) ** 0.5);
    return type === 'left' ? Math.max(l, inner) : inner;
  };
  const mkJoin = (type: 'inner' | 'left', left: PlanTree, right: ScanNode, keys: JoinNode['keys']): JoinNode => {
    const estRows = joinRows(type, left.estRows, right.estRows, keys);
    const cost = left.cost + right.cost + right.estRows * w.joinBuildRowCost + left.estRows * w.joinProbeRowCost;
    return { op: 'join', type, left, right, keys, build: 'right', estRows, cost };
  };

  let tree: PlanTree = scans[0]!;
  let joinReordered = false;
  const allInner = q.joins.every((j) => j.type === 'inner');
  if (q.joins.length > 0 && allInner) {
    // Greedy: the largest input probes; each step adds the smallest table connected to what is joined so far.
    const edges = q.joins.flatMap((j) => j.keys);
    const order = [...scans].sort((a, b) => b.estRows - a.estRows);
    const inSet = new Set<number>([order[0]!.t]);
    tree = order[0]!;
    while (inSet.size < scans.length) {
      const candidates = scans
        .filter((s) => !inSet.has(s.t))
        .map((s) => ({ s, keys: edges.filter((e) => (e.right.t === s.t && inSet.has(e.left.t)) || (e.left.t === s.t && inSet.has(e.right.t))) }))
        .filter((c) => c.keys.length > 0)
        .sort((a, b) => a.s.estRows - b.s.estRows);
      const pick = candidates[0]!;
      const keys = pick.keys.map((e) => (e.right.t === pick.s.t ? e : { left: e.right, right: e.left }));
      tree = mkJoin('inner', tree, pick.s, keys);
      inSet.add(pick.s.t);
    }
    joinReordered = order[0]!.t !== 0 || !isWrittenOrder(tree);
  } else {
    for (const j of q.joins) tree = mkJoin(j.type, tree, scans[j.t]!, j.keys);
  }

  // ---- the operators above the joins ----
  const show = (e: BExpr) => displayExpr(e, q);
  let rows = tree.estRows;
  let cost = tree.cost;
  let node: DisplayNode = displayTree(tree, q);
  if (residual.length) {
    let sel = 1;
    for (const c of residual) sel *= selectivity(c, statOf, w);
    rows *= sel;
    node = { op: 'filter', estRows: rows, cost, detail: { predicates: residual.map(show) }, children: [node], stage: 'filter' };
  }
  if (q.aggregate) {
    const input = rows;
    rows = groupCount(q.groupBy, input, statOf, q);
    cost += input * w.aggregateRowCost;
    node = { op: 'aggregate', estRows: rows, cost, detail: { groupBy: q.groupBy.map(show) }, children: [node], stage: 'aggregate' };
    if (q.having) {
      rows *= w.defaultSelectivity;
      node = { op: 'having', estRows: rows, cost, detail: { predicate: show(q.having) }, children: [node], stage: 'having' };
    }
  }
  node = { op: 'project', estRows: rows, cost, detail: { columns: q.outputs.map((o) => `${show(o.expr)} AS ${o.name}`) }, children: [node], stage: 'project' };
  if (q.distinct) {
    rows = Math.min(rows, groupCount(q.outputs.map((o) => o.expr), rows, statOf, q));
    node = { op: 'distinct', estRows: rows, cost, detail: {}, children: [node], stage: 'distinct' };
  }
  if (q.orderBy.length) {
    cost += rows * Math.log2(Math.max(2, rows)) * w.sortRowCost;
    node = { op: 'sort', estRows: rows, cost, detail: { keys: q.orderBy.map((o) => `${show(o.expr)} ${o.desc ? 'DESC' : 'ASC'}`) }, children: [node], stage: 'sort' };
  }
  if (q.limit !== undefined || q.offset !== undefined) {
    rows = Math.max(0, Math.min(q.limit ?? Infinity, rows - (q.offset ?? 0)));
    node = { op: 'limit', estRows: rows, cost, detail: { limit: q.limit ?? null, offset: q.offset ?? 0, pushedDown: limitDown !== undefined }, children: [node], stage: 'limit' };
  }
  const partitions = scans.reduce((acc, s) => ({ total: acc.total + s.partitions.total, kept: acc.kept + s.partitions.kept, pruned: acc.pruned + s.partitions.pruned }), { total: 0, kept: 0, pruned: 0 });
  return { query: q, tree, residual, root: node, estRows: rows, totalCost: cost, partitions, joinReordered };
}

function isWrittenOrder(tree: PlanTree): boolean {
  const order: number[] = [];
  const visit = (n: PlanTree) => {
    if (n.op === 'scan') order.push(n.t);
    else {
      visit(n.left);
      order.push(n.right.t);
    }
  };
  visit(tree);
  return order.every((t, i) => t === i);
}

function groupCount(exprs: BExpr[], input: number, statOf: (e: BExpr) => ColumnStat | undefined, q: BoundQuery): number {
  if (exprs.length === 0) return Math.min(1, input) || 1;
  let groups = 1;
  for (const e of exprs) {
    const s = statOf(e);
    if (s) groups *= Math.max(1, s.distinct);
    else if (e.k === 'call' && e.args[0]?.k === 'col' && e.args[0].ref.name === 'ts_ms') {
      const entry = q.tables[e.args[0].ref.t]!.entry;
      const span = entry.maxTsMs !== null && entry.minTsMs !== null ? entry.maxTsMs - entry.minTsMs : 0;
      const unit = e.fn === 'tostartofhour' || e.fn === 'tohour' ? 3_600_000 : e.fn.includes('month') || e.fn === 'toyyyymm' ? 30 * DAY : DAY;
      groups *= e.fn === 'tohour' ? 24 : Math.max(1, Math.ceil(span / unit) + 1);
    } else groups *= Math.max(1, Math.sqrt(input));
  }
  return Math.max(1, Math.min(input, groups));
}

function displayTree(n: PlanTree, q: BoundQuery): DisplayNode {
  if (n.op === 'scan') {
    return {
      op: 'scan',
      estRows: n.estRows,
      cost: n.cost,
      stage: `scan:${n.t}`,
      detail: {
        table: n.table,
        alias: n.alias,
        source: n.source,
        filter: n.filter.map((f) => displayExpr(f, q)),
        timeRange: n.timeRange ?? null,
        partitions: n.partitions,
        files: n.files.length,
        rowsRead: n.rowsRead,
        limit: n.limit ?? null,
        alternatives: n.alternatives,
      },
      children: [],
    };
  }
  const r = (ref: ColumnRef) => `${q.tables[ref.t]!.alias}.${ref.name}`;
  return {
    op: 'hash_join',
    estRows: n.estRows,
    cost: n.cost,
    stage: `join:${joinId(n)}`,
    detail: { type: n.type, on: n.keys.map((k) => `${r(k.left)} = ${r(k.right)}`), buildSide: `right (${n.right.alias}, est ${Math.round(n.right.estRows)} rows)` },
    children: [displayTree(n.left, q), displayTree(n.right, q)],
  };
}

/** Tables under a join node, in plan order: a stable id for its stage. */
export function joinId(n: PlanTree): string {
  return n.op === 'scan' ? String(n.t) : `${joinId(n.left)}+${n.right.t}`;
}
