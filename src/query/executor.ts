// Runs a planned query on the engine, always as the caller's tenant: the SQL
// comes from the physical plan (sql-generator.ts), whose only table names are
// the tenant's own. Each run is registered (id, state, rows, elapsed), can be
// cancelled, and is stopped at its timeout. Before planning it waits until
// the applier has applied what was acknowledged for its tables
// (freshness.ts). Results are the engine's own bytes in the wire format
// (wire-sql.ts): nothing is parsed and serialised again on the way out,
// except Arrow on an engine that cannot write it.
import type { Logger } from 'pino';
import type { ClickHouseEngine, RawBlock, RawFormat } from '../storage/clickhouse/clickhouse-engine.js';
import { isUnknownTableError } from '../storage/clickhouse/engine-errors.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { AppError, ErrorCode, Errors } from '../platform/errors.js';
import { LruMap } from '../platform/lru-map.js';
import { emptyArrowStream, encodeArrow } from './arrow-encoder.js';
import type { SqlType } from './bound.js';
import type { DisplayNode } from './cbo/optimizer.js';
import { FreshnessGate, type Consistency, type Freshness } from './freshness.js';
import { MAX_CACHED_QUERY_TEXT, type BindResult, type QueryPlanner, type PlannedQuery, type QueryInput } from './query-planner.js';
import type { QueryCaller, QueryHandle, QueryRegistry, QueryStartMeta } from './query-registry.js';
import { statementOf, type QueryStatement } from './query-statement.js';
import { generateSql, generateStageCount, type GenContext, type GeneratedSql } from './sql-generator.js';
import { arrowWireSql, jsonWireSql } from './wire-sql.js';

/** owner (principal name: a cancel by anyone else is audited), role and user agent, for the registry and the query log. */
export interface ExecuteOptions extends QueryCaller {
  timeoutMs?: number;
  via: string;
  format: string;
  /** 'eventual' skips the wait for the applier (read-after-write is the default). */
  consistency?: Consistency;
  /** The client went away: the query is cancelled (recorded as such) and the engine stops. */
  signal?: AbortSignal;
}

export type WireFormat = 'ndjson' | 'arrow';

/** Where a query's time went, in ms (the HTTP layer adds auth and write). */
export interface QueryTimings {
  /** Waiting for the applier (read-after-write). */
  waitMs: number;
  /** Parse, bind, optimize, generate. */
  planMs: number;
  /** Waiting for the engine's blocks. */
  engineMs: number;
  /** Our own work on the result (assembling JSON, encoding Arrow in JS, counting rows). */
  encodeMs: number;
}

export interface OpenQuery {
  id: string;
  planned: PlannedQuery;
  columns: Array<{ name: string; type: SqlType }>;
  handle: QueryHandle;
  /** How fresh the answer is (read-after-write, see freshness.ts). */
  freshness: Freshness;
  timings: QueryTimings;
  /**
   * The JSON answer's rows: the text of the `rows` array's elements (objects
   * with the client's names, as the engine wrote them) and their count. Throws
   * 400 beyond `maxRows`, before anything is sent.
   */
  jsonRows(maxRows: number): Promise<{ text: Buffer; count: number }>;
  /** The result as NDJSON or an Arrow IPC stream, block by block, never held whole. */
  stream(format: WireFormat): AsyncIterable<Uint8Array>;
  /** The rows parsed into objects (in-process callers; 64-bit integers as JS numbers). Consume one of these three. */
  rows: AsyncIterable<Record<string, unknown>>;
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
  /** Read-after-write; without one, queries read what is applied (tests of the executor alone). */
  freshness?: FreshnessGate;
}

/** Estimated rows up to which a result is fetched in one engine call rather than streamed. */
const SMALL_RESULT_ROWS = 5_000;
/**
 * The engine's settings for a streamed result (a block is one write to the
 * client); the bench's baseline uses the same. Blocks of the full 65,536 rows
 * (preferred_block_size_bytes raised to 8 MB) streamed faster, but a slow
 * reader's server then grew 80 MB instead of 30 and the first byte came after
 * 60 ms, so a block is what ClickHouse reads at a time (about 1 MB).
 */
export const STREAM_ENGINE_SETTINGS: Readonly<Record<string, number>> = { max_block_size: 65_536 };
/** Rows per record batch when Arrow is encoded in JS. */
const JS_ARROW_BATCH_ROWS = 16_384;
const NEWLINE = 0x0a;
const COMMA = 0x2c;

/** Distinct query texts whose normalized statement is remembered. */
const STATEMENT_MEMO_ENTRIES = 512;

export class QueryExecutor {
  private readonly freshness: FreshnessGate;
  /**
   * SQL generated from each cached physical plan (the planner hands out the
   * same plan object while nothing it depends on changed; a plan belongs to
   * one tenant), with the JSON answer's wire SQL.
   */
  private readonly generated = new WeakMap<PlannedQuery['physical'], { gen: GeneratedSql; jsonSql: string }>();
  /** The query log's normalized statement of a SQL text (lexing and hashing it is a pure function of the text). */
  private readonly statements = new LruMap<string, QueryStatement | undefined>(STATEMENT_MEMO_ENTRIES);

  constructor(private readonly deps: ExecutorDeps) {
    this.freshness = deps.freshness ?? new FreshnessGate({ source: undefined, maxWaitMs: 0 });
  }

  genContext(tenant: string): GenContext {
    const tables = this.deps.tables();
    return { tenant, tableName: (t) => tables.tableName(tenant, t), parquetRoot: this.deps.parquetRoot };
  }

  /** The SQL of a plan, generated once per plan. */
  private generate(tenant: string, planned: PlannedQuery): { gen: GeneratedSql; jsonSql: string } {
    let out = this.generated.get(planned.physical);
    if (!out) {
      const gen = generateSql(planned.physical, this.genContext(tenant));
      out = { gen, jsonSql: jsonWireSql(gen) };
      this.generated.set(planned.physical, out);
    }
    return out;
  }

  private statementOf(input: QueryInput): QueryStatement | undefined {
    if (typeof input.sql !== 'string' || input.sql.length > MAX_CACHED_QUERY_TEXT) return statementOf(input);
    let statement = this.statements.get(input.sql);
    if (statement === undefined) {
      statement = statementOf(input);
      this.statements.set(input.sql, statement);
    }
    return statement;
  }

  timeoutOf(requested: number | undefined): number {
    if (requested === undefined) return this.deps.defaultTimeoutMs;
    if (requested > this.deps.maxTimeoutMs) throw Errors.validation(`timeoutMs may be at most ${this.deps.maxTimeoutMs}`, { field: 'timeoutMs' });
    return requested;
  }

  /**
   * Validates, registers, waits until the tables it reads are fresh, plans;
   * the engine runs when the caller consumes the result. Invalid queries fail
   * before they are registered.
   */
  async open(tenant: string, input: QueryInput, opts: ExecuteOptions): Promise<OpenQuery> {
    const timeoutMs = this.timeoutOf(opts.timeoutMs);
    const consistency = opts.consistency ?? 'read-after-write';
    const t0 = performance.now();
    const meta: QueryStartMeta = { ...callerOf(opts), timeoutMs, via: opts.via, format: opts.format, statement: this.statementOf(input) };
    // A query refused before it runs is logged too (the registry tells the query log).
    const bound = await this.deps.planner.bind(tenant, input).catch((err: unknown) => Promise.reject(this.deps.registry.rejected(tenant, meta, err)));
    const handle = this.deps.registry.start(tenant, meta);
    if (opts.signal) {
      if (opts.signal.aborted) handle.abandon();
      else opts.signal.addEventListener('abort', () => handle.abandon(), { once: true });
    }
    const timings: QueryTimings = { waitMs: 0, planMs: 0, engineMs: 0, encodeMs: 0 };
    let planned: PlannedQuery;
    let freshness: Freshness;
    let gen: GeneratedSql;
    let jsonSql: string;
    try {
      const tables = bound.bound.tables.map((t) => t.table);
      const tw = performance.now();
      freshness = await this.freshness.await(tenant, tables, consistency, handle.signal, timeoutMs);
      timings.waitMs = performance.now() - tw;
      // After a wait the catalog has moved on (parts, row counts): bind again.
      planned = await this.deps.planner.plan(tenant, input, freshness.waitedMs > 0 ? undefined : bound);
      ({ gen, jsonSql } = this.generate(tenant, planned));
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.NotFresh) {
        handle.fail(err);
        throw err;
      }
      throw handle.fail(err);
    }
    timings.planMs = performance.now() - t0 - timings.waitMs;
    const engine = this.deps.engine();
    const small = planned.physical.estRows <= SMALL_RESULT_ROWS;
    const columns = gen.columns.map((c) => ({ name: c.name, type: c.type }));

    /** The engine's blocks in `format`, with the engine's wait timed and the registry kept up to date. */
    const blocks = async function* (format: RawFormat, sql: string, oneCall: boolean): AsyncGenerator<RawBlock> {
      const settings = oneCall ? {} : STREAM_ENGINE_SETTINGS;
      const it = engine.queryRaw(sql, format, { signal: handle.signal, queryId: handle.id, settings, small: oneCall })[Symbol.asyncIterator]();
      try {
        for (;;) {
          const te = performance.now();
          const next = await it.next();
          timings.engineMs += performance.now() - te;
          if (next.done) break;
          // The query log's `bytes`: the result in the answer's format, as the engine wrote it.
          handle.addBytes(next.value.bytes.byteLength);
          yield next.value;
        }
      } catch (err) {
        // A table catalogued at ingest but not created yet (only without read-after-write, which waits for it).
        const fresh = planned.bound.tables.find((t) => t.entry.rowCount === 0);
        if (!handle.signal.aborted && fresh && isUnknownTableError(err)) throw Errors.notReady(`table ${fresh.table} (its first records are still being applied)`);
        throw err;
      } finally {
        await it.return?.();
      }
    };
    /** Runs `body` as the query's one consumption: finished when it completes, failed (with the reason the client should see) when it throws. */
    const settle = async function* <T>(body: AsyncGenerator<T>): AsyncGenerator<T> {
      let done = false;
      try {
        yield* body;
        done = true;
        handle.finish();
      } catch (err) {
        done = true;
        throw handle.fail(err);
      } finally {
        // The reader stopped early (client gone, too many rows): recorded once, as cancelled when it was.
        if (!done) handle.fail(new Error('the result was not read to the end'));
      }
    };
    // A result estimated small is one engine call for an answer held whole anyway (JSON, in-process rows);
    // a stream always streams, so a wrong estimate cannot make it hold a large result in memory.
    const jsonBlocks = (oneCall: boolean) => blocks('JSONEachRow', jsonSql, oneCall);
    const countRows = (b: RawBlock): number => {
      if (b.rows !== undefined) return b.rows;
      const t = performance.now();
      const n = countByte(b.bytes, NEWLINE);
      timings.encodeMs += performance.now() - t;
      return n;
    };

    const jsonRows = async (maxRows: number): Promise<{ text: Buffer; count: number }> => {
      const parts: Uint8Array[] = [];
      let count = 0;
      for await (const b of settle(jsonBlocks(small))) {
        const n = countRows(b);
        count += n;
        // Counted as they come: the registry (and the query log) reads the count when the query finishes.
        handle.addRows(n);
        if (count > maxRows) {
          // Leaving the loop stops the engine.
          const err = Errors.validation(`the result has more than ${maxRows} rows; add LIMIT or ask for NDJSON/Arrow with the Accept header`, { maxJsonRows: maxRows });
          handle.fail(err);
          throw err;
        }
        parts.push(b.bytes);
      }
      const t = performance.now();
      // One object per line → the elements of a JSON array: each newline becomes a comma, the last is dropped.
      const text = parts.length === 1 ? Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength) : Buffer.concat(parts);
      for (let i = text.indexOf(NEWLINE); i !== -1; i = text.indexOf(NEWLINE, i + 1)) text[i] = COMMA;
      const end = text.length > 0 && text[text.length - 1] === COMMA ? text.length - 1 : text.length;
      timings.encodeMs += performance.now() - t;
      return { text: text.subarray(0, end), count };
    };

    const ndjson = async function* (): AsyncGenerator<Uint8Array> {
      for await (const b of jsonBlocks(false)) {
        handle.addRows(countRows(b));
        yield b.bytes;
      }
    };

    const parsedBatches = async function* (oneCall: boolean): AsyncGenerator<Record<string, unknown>[]> {
      let carry = '';
      const decoder = new TextDecoder();
      for await (const b of jsonBlocks(oneCall)) {
        const t = performance.now();
        const text = carry + decoder.decode(b.bytes, { stream: true });
        const last = text.lastIndexOf('\n');
        carry = text.slice(last + 1);
        const rows = last < 0 ? [] : text.slice(0, last).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        timings.encodeMs += performance.now() - t;
        handle.addRows(rows.length);
        if (rows.length) yield rows;
      }
      if (carry.trim()) {
        handle.addRows(1);
        yield [JSON.parse(carry) as Record<string, unknown>];
      }
    };

    const arrow = async function* (): AsyncGenerator<Uint8Array> {
      if (await engine.writesFormat('ArrowStream')) {
        let any = false;
        for await (const b of blocks('ArrowStream', arrowWireSql(gen), false)) {
          any = true;
          handle.addRows(b.rows ?? 0);
          yield b.bytes;
        }
        if (!any) yield await emptyArrowStream(columns);
        return;
      }
      // The engine cannot write Arrow: rows as JSON, encoded here in record batches.
      const batches = async function* (): AsyncGenerator<Record<string, unknown>[]> {
        let pending: Record<string, unknown>[] = [];
        for await (const rows of parsedBatches(false)) {
          for (const r of rows) pending.push(r);
          if (pending.length >= JS_ARROW_BATCH_ROWS) {
            yield pending;
            pending = [];
          }
        }
        if (pending.length) yield pending;
      };
      const it = encodeArrow(columns, batches())[Symbol.asyncIterator]();
      try {
        for (;;) {
          const t = performance.now();
          const engineBefore = timings.engineMs;
          const next = await it.next();
          timings.encodeMs += performance.now() - t - (timings.engineMs - engineBefore);
          if (next.done) return;
          yield next.value;
        }
      } finally {
        // A reader that stops early stops the encoder, and through it the engine.
        await it.return?.(undefined);
      }
    };

    const rows = async function* (): AsyncGenerator<Record<string, unknown>> {
      for await (const batch of settle(parsedBatches(small))) yield* batch;
    };

    return {
      id: handle.id,
      planned,
      columns,
      handle,
      freshness,
      timings,
      jsonRows,
      stream: (format) => settle(format === 'arrow' ? arrow() : ndjson()),
      rows: rows(),
    };
  }

  /**
   * EXPLAIN: plans and returns the generated SQL; with analyze, runs it and
   * counts each stage's actual rows, after the same read-after-write wait as
   * an executed query (the answer carries `freshness`).
   */
  async explain(tenant: string, input: QueryInput, analyze: boolean, timeoutMs?: number, consistency: Consistency = 'read-after-write', caller: QueryCaller = {}) {
    let handle: QueryHandle | undefined;
    let freshness: Freshness | undefined;
    let bound: BindResult | undefined;
    if (analyze) {
      const budget = this.timeoutOf(timeoutMs);
      const meta: QueryStartMeta = { ...callerOf(caller), timeoutMs: budget, via: 'explain-analyze', format: 'json', statement: this.statementOf(input) };
      // Only EXPLAIN ANALYZE runs the query, so only it is a query of the log.
      const b = await this.deps.planner.bind(tenant, input).catch((err: unknown) => Promise.reject(this.deps.registry.rejected(tenant, meta, err)));
      bound = b;
      handle = this.deps.registry.start(tenant, meta);
      try {
        freshness = await this.freshness.await(tenant, b.bound.tables.map((t) => t.table), consistency, handle.signal, budget);
      } catch (err) {
        const shown = handle.fail(err);
        throw err instanceof AppError && err.code === ErrorCode.NotFresh ? err : shown;
      }
    }
    let planned: PlannedQuery;
    try {
      planned = await this.deps.planner.plan(tenant, input, freshness && freshness.waitedMs > 0 ? undefined : bound);
    } catch (err) {
      throw handle ? handle.fail(err) : err;
    }
    const ctx = this.genContext(tenant);
    const { gen } = this.generate(tenant, planned);
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
      ...(freshness ? { freshness } : {}),
    };
    if (!handle) return out;

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

/** Occurrences of `byte` in `bytes` (rows of a JSONEachRow block). */
function countByte(bytes: Uint8Array, byte: number): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let i = b.indexOf(byte); i !== -1; i = b.indexOf(byte, i + 1)) n++;
  return n;
}

/** The caller's fields of a query's options (owner, role, user agent), for the registry and the query log. */
function callerOf(c: QueryCaller): QueryCaller {
  return {
    ...(c.owner !== undefined ? { owner: c.owner } : {}),
    ...(c.role !== undefined ? { role: c.role } : {}),
    ...(c.userAgent !== undefined ? { userAgent: c.userAgent } : {}),
  };
}
