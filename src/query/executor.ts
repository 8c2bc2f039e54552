// Runs a planned query on the engine, always as the caller's tenant: the SQL
// comes from the physical plan (sql-generator.ts), whose only table names are
// the tenant's own. Each run is registered (id, state, rows, elapsed), can be
// cancelled, and is stopped at its timeout.
import type { Logger } from 'pino';
import type { ClickHouseEngine } from '../storage/clickhouse/clickhouse-engine.js';
import { isUnknownTableError } from '../storage/clickhouse/engine-errors.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { Errors } from '../platform/errors.js';
import type { SqlType } from './bound.js';
import type { DisplayNode } from './cbo/optimizer.js';
import type { QueryPlanner, PlannedQuery, QueryInput } from './query-planner.js';
import type { QueryCaller, QueryHandle, QueryRegistry } from './query-registry.js';
import { statementOf } from './query-statement.js';
import { generateSql, generateStageCount, type GenContext, type GeneratedColumn } from './sql-generator.js';

/** owner (principal name: a cancel by anyone else is audited), role and user agent, for the registry and the query log. */
export interface ExecuteOptions extends QueryCaller {
  timeoutMs?: number;
  via: string;
  format: string;
}

export interface OpenQuery {
  id: string;
  planned: PlannedQuery;
  columns: Array<{ name: string; type: SqlType }>;
  /** Rows as the client sees them (renamed, 64-bit integers as numbers where exact), in batches. */
  batches: AsyncIterable<Record<string, unknown>[]>;
  /** The same rows one by one (consume either this or `batches`, not both). */
  rows: AsyncIterable<Record<string, unknown>>;
  handle: QueryHandle;
}

export interface ExecutorDeps {
  planner: QueryPlanner;
  registry: QueryRegistry;
  engine: () => ClickHouseEngine;
  tables: () => TenantTables;
  parquetRoot: string;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  logger: Logger;
}

const INT64 = new Set<SqlType>(['Int64', 'UInt64']);
const BATCH_ROWS = 1024;

export class QueryExecutor {
  constructor(private readonly deps: ExecutorDeps) {}

  genContext(tenant: string): GenContext {
    const tables = this.deps.tables();
    return { tenant, tableName: (t) => tables.tableName(tenant, t), parquetRoot: this.deps.parquetRoot };
  }

  timeoutOf(requested: number | undefined): number {
    if (requested === undefined) return this.deps.defaultTimeoutMs;
    if (requested > this.deps.maxTimeoutMs) throw Errors.validation(`timeoutMs may be at most ${this.deps.maxTimeoutMs}`, { field: 'timeoutMs' });
    return requested;
  }

  /** Plans, registers and starts a query; rows stream from the engine as the caller iterates. */
  async open(tenant: string, input: QueryInput, opts: ExecuteOptions): Promise<OpenQuery> {
    const timeoutMs = this.timeoutOf(opts.timeoutMs);
    const meta = { ...opts, timeoutMs, statement: statementOf(input) };
    // A query refused before it runs is logged too (the registry tells the query log).
    const planned = await this.deps.planner.plan(tenant, input).catch((err: unknown) => Promise.reject(this.deps.registry.rejected(tenant, meta, err)));
    const gen = generateSql(planned.physical, this.genContext(tenant));
    const handle = this.deps.registry.start(tenant, meta);
    const convert = rowConverter(gen.columns, gen.renamed);
    const engine = this.deps.engine();
    const small = planned.physical.estRows <= 5_000;
    // Smaller blocks make the first rows of a large result arrive sooner. Only the
    // embedded engine gets the clause: where SETTINGS may stand differs on 18.16.
    const streamSql = engine.kind === 'embedded' ? `${gen.sql} SETTINGS max_block_size = 8192` : gen.sql;
    // Rows travel in batches: one await per batch instead of one per row downstream.
    const batches = async function* (): AsyncGenerator<Record<string, unknown>[]> {
      try {
        if (small) {
          // One round trip; the stream path costs an extra session on chdb.
          const rows = await engine.query(gen.sql, { signal: handle.signal, queryId: handle.id });
          handle.addRows(rows.length);
          if (rows.length) yield rows.map(convert);
        } else {
          let batch: Record<string, unknown>[] = [];
          for await (const r of engine.queryStream(streamSql, { signal: handle.signal, queryId: handle.id })) {
            batch.push(convert(r));
            if (batch.length === BATCH_ROWS) {
              handle.addRows(batch.length);
              yield batch;
              batch = [];
            }
          }
          handle.addRows(batch.length);
          if (batch.length) yield batch;
        }
        handle.finish();
      } catch (err) {
        // A table catalogued at ingest but not yet created by the applier: 503 with
        // Retry-After (an empty result would be wrong for count() and friends).
        const fresh = planned.bound.tables.find((t) => t.entry.rowCount === 0);
        if (!handle.signal.aborted && fresh && isUnknownTableError(err)) {
          handle.fail(err);
          throw Errors.notReady(`table ${fresh.table} (its first records are still being applied)`);
        }
        throw handle.fail(err);
      }
    };
    const batchIterable = batches();
    const rows = async function* (): AsyncGenerator<Record<string, unknown>> {
      for await (const b of batchIterable) yield* b;
    };
    return { id: handle.id, planned, columns: gen.columns.map((c) => ({ name: c.name, type: c.type })), batches: batchIterable, rows: rows(), handle };
  }

  /** EXPLAIN: plans and returns the generated SQL; with analyze, runs it and counts each stage's actual rows. */
  async explain(tenant: string, input: QueryInput, analyze: boolean, timeoutMs?: number, caller: QueryCaller = {}) {
    const meta = { ...caller, timeoutMs: analyze ? this.timeoutOf(timeoutMs) : 0, via: 'explain-analyze', format: 'json', statement: statementOf(input) };
    // Only EXPLAIN ANALYZE runs the query, so only it is a query of the log.
    const planned = await this.deps.planner.plan(tenant, input).catch((err: unknown) => Promise.reject(analyze ? this.deps.registry.rejected(tenant, meta, err) : err));
    const ctx = this.genContext(tenant);
    const gen = generateSql(planned.physical, ctx);
    const physical = JSON.parse(JSON.stringify(planned.physical.root)) as DisplayNode & { actualRows?: number; qError?: number };
    const out = {
      ast: planned.ast,
      logical: planned.logical,
      physical,
      sql: gen.sql,
      estimatedRows: planned.physical.estRows,
      estimatedCost: planned.physical.totalCost,
      partitions: planned.physical.partitions,
      cacheHit: planned.cacheHit,
      analyze: undefined as undefined | { actualRows: number; elapsedMs: number; qErrors: Array<{ stage: string; op: string; estRows: number; actualRows: number; qError: number }>; medianQError: number },
    };
    if (!analyze) return out;

    const handle = this.deps.registry.start(tenant, meta);
    const engine = this.deps.engine();
    const t0 = performance.now();
    try {
      const rows = await engine.query(gen.sql, { signal: handle.signal });
      handle.addRows(rows.length);
      const counts = new Map<string, number>();
      const visit = async (n: DisplayNode & { actualRows?: number; qError?: number }, isRoot: boolean) => {
        for (const c of n.children) await visit(c, false);
        let actual: number | undefined;
        if (isRoot) actual = rows.length;
        else if (counts.has(n.stage)) actual = counts.get(n.stage);
        else {
          const sql = generateStageCount(planned.physical, ctx, n.stage);
          if (sql) {
            const [r] = await engine.query<{ c: string | number }>(sql, { signal: handle.signal });
            actual = Number(r?.c ?? 0);
            counts.set(n.stage, actual);
          } else if (n.op === 'project' || n.op === 'sort' || n.op === 'distinct' || n.op === 'having') {
            // Pass-through stages: same rows as their input, unless they are the root.
            actual = (n.children[0] as { actualRows?: number } | undefined)?.actualRows;
          }
        }
        if (actual !== undefined) {
          n.actualRows = actual;
          n.qError = qError(n.estRows, actual);
        }
      };
      await visit(physical, true);
      const qErrors: Array<{ stage: string; op: string; estRows: number; actualRows: number; qError: number }> = [];
      const collect = (n: DisplayNode & { actualRows?: number; qError?: number }) => {
        if (n.actualRows !== undefined && n.qError !== undefined) qErrors.push({ stage: n.stage, op: n.op, estRows: Math.round(n.estRows * 100) / 100, actualRows: n.actualRows, qError: n.qError });
        n.children.forEach((c) => collect(c));
      };
      collect(physical);
      handle.finish();
      out.analyze = { actualRows: rows.length, elapsedMs: Math.round((performance.now() - t0) * 100) / 100, qErrors, medianQError: median(qErrors.map((q) => q.qError)) };
      return out;
    } catch (err) {
      throw handle.fail(err);
    }
  }
}

/** max(est/actual, actual/est) with both floored at 1 row, as usual for q-error. */
export function qError(est: number, actual: number): number {
  const e = Math.max(1, est);
  const a = Math.max(1, actual);
  return Math.round(Math.max(e / a, a / e) * 1000) / 1000;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Renames internal result names and turns 64-bit integer strings into numbers when exact. */
function rowConverter(columns: GeneratedColumn[], renamed: boolean): (r: Record<string, unknown>) => Record<string, unknown> {
  const ints = columns.filter((c) => INT64.has(c.type) || c.type === 'Null');
  if (!renamed && ints.length === 0) return (r) => r;
  if (!renamed) {
    return (r) => {
      for (const c of ints) {
        const v = r[c.sqlName];
        if (typeof v === 'string') r[c.sqlName] = toNumberIfExact(v);
      }
      return r;
    };
  }
  return (r) => {
    const out: Record<string, unknown> = {};
    for (const c of columns) {
      const v = r[c.sqlName];
      out[c.name] = typeof v === 'string' && (INT64.has(c.type) || c.type === 'Null') ? toNumberIfExact(v) : v;
    }
    return out;
  };
}

function toNumberIfExact(v: string): unknown {
  // Up to 15 digits always fits a double exactly: the common case skips the regex.
  if (v.length <= 15) {
    const n = Number(v);
    return Number.isInteger(n) && v !== '' ? n : v;
  }
  if (!/^-?\d+$/.test(v)) return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}
