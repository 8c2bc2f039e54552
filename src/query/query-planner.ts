// SQL or DSL in, physical plan out: parse → bind to the tenant's catalog →
// logical plan → cost-based optimization. Plans are cached by everything they
// depend on (the bound query with its catalog entries, the statistics, the
// weights), so a catalog change or a new weight is a new key, never stale.
// Bound queries are cached too, by tenant and text, for as long as the
// tenant's table listing is the very same (the catalog hands out one frozen
// listing until its next write): a repeated query is neither parsed nor bound
// again, which is most of what planning costs on a small query.
import type { PartEntry, TableEntry } from '../catalog/catalog-store.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import { Errors } from '../platform/errors.js';
import { LruMap } from '../platform/lru-map.js';
import type { EngineKind } from '../storage/clickhouse/clickhouse-engine.js';
import type { SelectQuery } from './ast.js';
import type { BoundQuery } from './bound.js';
import type { CboConfigStore } from './cbo/cbo-config.js';
import { optimize, type PhysicalPlan } from './cbo/optimizer.js';
import type { ColumnStatsStore, TableStats } from './column-stats.js';
import { DslError, dslQuery, dslToQuery } from './dsl.js';
import { buildLogicalPlan, type LogicalNode } from './logical-plan.js';
import { bindQuery } from './binder.js';
import { parseSql } from './sql-parser.js';

export interface QueryInput {
  sql?: string | undefined;
  dsl?: unknown;
}

export interface BindResult {
  ast: SelectQuery;
  bound: BoundQuery;
  logical: LogicalNode;
}

export interface PlannedQuery {
  ast: SelectQuery;
  bound: BoundQuery;
  logical: LogicalNode;
  physical: PhysicalPlan;
  cacheHit: boolean;
}

export interface PlannerStats {
  plans: number;
  cacheHits: number;
  cacheMisses: number;
  partitionsTotal: number;
  partitionsPruned: number;
  scans: { clickhouse: number; parquet: number };
  joinsReordered: number;
  statsRefreshes: number;
}

const CACHE_ENTRIES = 512;

/**
 * Longest query text (SQL, or the DSL as JSON) whose work is cached. A cached
 * entry holds its text and what was derived from it, so the caches' memory is
 * bounded by their entries times this; longer queries are rare, and parsing
 * them is small beside running them.
 */
export const MAX_CACHED_QUERY_TEXT = 4096;
/** Longest plan cache key (the bound query's JSON, with its tables' entries) kept: 512 keys stay within tens of MB. */
const MAX_PLAN_KEY = 65_536;

/** The text that, with the tenant's tables, decides the bound query; undefined when the input is not one well-formed, cacheable query. */
function inputText(input: QueryInput): string | undefined {
  const hasDsl = input.dsl !== undefined && input.dsl !== null;
  let text: string | undefined;
  if (typeof input.sql === 'string') text = hasDsl ? undefined : `sql:${input.sql}`;
  else if (hasDsl) {
    try {
      text = `dsl:${JSON.stringify(input.dsl)}`;
    } catch {
      text = undefined;
    }
  }
  return text !== undefined && text.length <= MAX_CACHED_QUERY_TEXT ? text : undefined;
}

/** Cached results are shared by every request that asks the same: frozen, so nothing can change one for the others. */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
  else for (const v of Object.values(value)) deepFreeze(v);
  return value;
}

export function parseInput(input: QueryInput): SelectQuery {
  const hasSql = typeof input.sql === 'string';
  const hasDsl = input.dsl !== undefined && input.dsl !== null;
  if (hasSql === hasDsl) throw Errors.validation('give exactly one of "sql" or "dsl"');
  if (hasSql) return parseSql(input.sql!);
  const parsed = dslQuery.safeParse(input.dsl);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw Errors.invalidQuery(`dsl${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`, {
      path: issue?.path.join('.') ?? '',
    });
  }
  try {
    return dslToQuery(parsed.data);
  } catch (err) {
    if (err instanceof DslError) throw Errors.invalidQuery(`dsl: ${err.message}`);
    throw err;
  }
}

export class QueryPlanner {
  private readonly cache = new LruMap<string, PhysicalPlan>(CACHE_ENTRIES);
  /** Bound queries by tenant and text, with the table listing they were bound to. */
  private readonly bindings = new LruMap<string, { tables: readonly TableEntry[]; result: BindResult }>(CACHE_ENTRIES);
  /** The plan cache's key part for a bound query, built once per bound query. */
  private readonly boundKeys = new WeakMap<BoundQuery, string>();
  /** Hook for metrics: every plan handed out (cached or not). */
  onPlanned: ((plan: PhysicalPlan) => void) | undefined;
  readonly stats: PlannerStats = {
    plans: 0,
    cacheHits: 0,
    cacheMisses: 0,
    partitionsTotal: 0,
    partitionsPruned: 0,
    scans: { clickhouse: 0, parquet: 0 },
    joinsReordered: 0,
    statsRefreshes: 0,
  };

  constructor(
    private readonly deps: {
      catalog: () => CatalogStore;
      columnStats: ColumnStatsStore;
      config: CboConfigStore;
      engineKind: () => EngineKind;
    },
  ) {}

  async bind(tenant: string, input: QueryInput): Promise<BindResult> {
    const text = inputText(input);
    const tables = await this.deps.catalog().listTables(tenant);
    const key = text === undefined ? undefined : `${tenant}\u0000${text}`;
    const cached = key === undefined ? undefined : this.bindings.get(key);
    if (cached && cached.tables === tables) return cached.result;
    const ast = parseInput(input);
    const bound = bindQuery(ast, tables);
    const result: BindResult = { ast, bound, logical: buildLogicalPlan(bound) };
    if (key !== undefined) this.bindings.set(key, { tables, result: deepFreeze(result) });
    return result;
  }

  /** `bound`: the result of bind() for the same input, when the catalog cannot have changed since. */
  async plan(tenant: string, input: QueryInput, bound?: BindResult): Promise<PlannedQuery> {
    return this.planBound(tenant, bound ?? (await this.bind(tenant, input)));
  }

  private async planBound(tenant: string, { ast, bound, logical }: BindResult): Promise<PlannedQuery> {
    const parts = new Map<number, readonly PartEntry[]>();
    const stats = new Map<number, TableStats | undefined>();
    for (const t of bound.tables) {
      parts.set(t.idx, await this.deps.catalog().listParts(tenant, t.table));
      stats.set(t.idx, await this.deps.columnStats.forPlanning(t.entry));
    }
    const cfg = await this.deps.config.get();
    const engineKind = this.deps.engineKind();
    let boundKey = this.boundKeys.get(bound);
    if (boundKey === undefined) {
      boundKey = JSON.stringify(bound);
      this.boundKeys.set(bound, boundKey);
    }
    const key =
      JSON.stringify([tenant, [...stats.values()].map((s) => s?.computedAt ?? 0), [...parts.values()].map((p) => p.length), cfg.version, engineKind]) + boundKey;
    this.stats.plans++;
    let physical = this.cache.get(key);
    const cacheHit = physical !== undefined;
    if (physical) {
      this.stats.cacheHits++;
    } else {
      this.stats.cacheMisses++;
      physical = optimize(bound, { parts, stats, engineKind, weights: cfg.weights });
      if (key.length <= MAX_PLAN_KEY) this.cache.set(key, physical);
    }
    this.stats.partitionsTotal += physical.partitions.total;
    this.stats.partitionsPruned += physical.partitions.pruned;
    const countScans = (n: PhysicalPlan['tree']) => {
      if (n.op === 'scan') this.stats.scans[n.source]++;
      else {
        countScans(n.left);
        countScans(n.right);
      }
    };
    countScans(physical.tree);
    if (physical.joinReordered) this.stats.joinsReordered++;
    this.onPlanned?.(physical);
    this.stats.statsRefreshes = this.deps.columnStats.refreshes;
    return { ast, bound, logical, physical, cacheHit };
  }
}
