// The query log's table in the tenant data engine: one row per query that
// ended, in the base database (CLICKHOUSE_DATABASE, which holds no tenant
// table), named by physical-names.ts. Daily partitions (the UTC day the query
// ended), so retention drops whole days: 18.16 has no TTL, and ALTER DELETE is
// a slow mutation there. ReplacingMergeTree keyed by (tenant, end_ms,
// query_id): a batch re-sent after a lost acknowledgement collapses at merge,
// and reads take one row per query id (LIMIT 1 BY) until then.
//
// Cluster mode: `query_log_local` is a ReplicatedReplacingMergeTree on every
// replica of every shard and `query_log` a Distributed table over it on every
// node, sharded by the query id, as tenant tables are laid out; inserts go
// through the Distributed table synchronously (a failed one is re-sent as the
// same block, which replicated deduplication drops). The DDL is its own, not
// the tenant tables' schema code: its columns are fixed, so it never needs
// generations or column reconciliation. A node that missed the DDL (it was
// down) gets it at the next ensure (every retention pass, and after an insert
// meets a missing table). Its rows are not tenant data and no tenant query can
// name it: the SQL generator only names a tenant's own tables.
import type { Logger } from 'pino';
import { Errors } from '../../platform/errors.js';
import { queryLogLocalLocation, queryLogLocation, queryLogReplicatedPath, type ClickHouseLocation } from '../physical-names.js';
import type { ClickHouseEngine } from './clickhouse-engine.js';
import { isUnknownTableError } from './engine-errors.js';
import type { MultiNodeEngine } from './multi-node-engine.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

/** One query as stored: snake_case columns, epoch milliseconds, 64-bit values as decimal strings on the way out. */
export interface QueryLogRow {
  /** UTC day of end_ms, YYYY-MM-DD: the partition. */
  date: string;
  end_ms: number;
  start_ms: number;
  query_id: string;
  tenant: string;
  principal: string;
  role: string;
  state: string;
  kind: string;
  via: string;
  format: string;
  query: string;
  query_bytes: number;
  query_truncated: number;
  normalized_query: string;
  /** UInt64 as a decimal string. */
  normalized_query_hash: string;
  rows: number;
  bytes: number;
  elapsed_ms: number;
  error_code: string;
  error: string;
  user_agent: string;
}

const COLUMNS_DDL = [
  'date Date',
  'end_ms UInt64',
  'start_ms UInt64',
  'query_id String',
  'tenant String',
  'principal String',
  'role String',
  'state String',
  'kind String',
  'via String',
  'format String',
  'query String',
  'query_bytes UInt64',
  'query_truncated UInt8',
  'normalized_query String',
  'normalized_query_hash UInt64',
  'rows UInt64',
  'bytes UInt64',
  'elapsed_ms Float64',
  'error_code String',
  'error String',
  'user_agent String',
].join(', ');

const LAYOUT = 'PARTITION BY date ORDER BY (tenant, end_ms, query_id)';
const NUMERIC = ['end_ms', 'start_ms', 'query_bytes', 'query_truncated', 'rows', 'bytes'] as const;

export type QueryLogSort = 'newest' | 'slowest';

export interface QueryLogSelect {
  /** Epoch ms, inclusive. */
  fromMs?: number;
  /** Epoch ms, exclusive. */
  toMs?: number;
  tenant?: string;
  principal?: string;
  states?: readonly string[];
  minElapsedMs?: number;
  normalizedHash?: string;
  sort: QueryLogSort;
  /** The sort key and query id of the last row of the previous page. */
  after?: { key: number; id: string };
  limit: number;
  signal?: AbortSignal;
}

export interface QueryLogCluster {
  /** The cluster's name in the servers' remote_servers. */
  name: string;
  zkPathPrefix: string;
  engine: Pick<MultiNodeEngine, 'onEveryNode' | 'insertJsonLines'>;
}

export interface QueryLogTableOptions {
  engine: ClickHouseEngine;
  /** Cluster mode: replicated + Distributed. */
  cluster?: QueryLogCluster;
  logger: Logger;
}

export class QueryLogTable {
  private ensured = false;
  private readonly table: ClickHouseLocation;

  constructor(private readonly opts: QueryLogTableOptions) {
    this.table = queryLogLocation(opts.engine.database);
  }

  /** The quoted table queries and inserts name (the Distributed one in cluster mode). */
  get name(): string {
    return quoted(this.table);
  }

  /** Creates the table (on every node in cluster mode) if missing; cheap once done. */
  async ensure(force = false): Promise<void> {
    if (this.ensured && !force) return;
    const { cluster, engine } = this.opts;
    if (!cluster) {
      await engine.exec(`CREATE TABLE IF NOT EXISTS ${this.name} (${COLUMNS_DDL}) ENGINE = ReplacingMergeTree() ${LAYOUT}`);
      this.ensured = true;
      return;
    }
    const local = queryLogLocalLocation(engine.database);
    const zkPath = queryLogReplicatedPath(cluster.zkPathPrefix, engine.database);
    const outcomes = await cluster.engine.onEveryNode(async (e) => {
      await e.exec(`CREATE TABLE IF NOT EXISTS ${quoted(local)} (${COLUMNS_DDL}) ENGINE = ReplicatedReplacingMergeTree(${quoteString(zkPath)}, '{replica}') ${LAYOUT}`);
      await e.exec(
        `CREATE TABLE IF NOT EXISTS ${this.name} (${COLUMNS_DDL}) ` +
          `ENGINE = Distributed(${quoteString(cluster.name)}, ${quoteString(local.database)}, ${quoteString(local.table)}, cityHash64(query_id))`,
      );
    });
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length === outcomes.length) {
      const first = failed[0];
      throw Errors.storageFailure(`cannot create the query log on any node${first && !first.ok ? `: ${first.error instanceof Error ? first.error.message : String(first.error)}` : ''}`);
    }
    for (const f of failed) this.opts.logger.warn({ node: f.url, err: f.ok ? undefined : f.error }, 'a node missed the query log table; it is created at the next retention pass');
    // Not again for every insert while a node is down: the retention pass forces it.
    this.ensured = true;
  }

  /** Inserts rows; a table that went missing (dropped, a node that missed the DDL) is created again once. */
  async insert(rows: readonly QueryLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.ensure();
    const lines = rows.map((r) => JSON.stringify(r)).join('\n');
    try {
      await this.send(lines);
    } catch (err) {
      if (!isUnknownTableError(err)) throw err;
      await this.ensure(true);
      await this.send(lines);
    }
  }

  /**
   * One page of rows, sorted, at most `limit`; duplicates of a re-sent batch
   * are read once. Two reads: the page's ids from the small columns, then
   * whole rows of those ids only (query texts may be 64 KiB each).
   */
  async select(q: QueryLogSelect): Promise<QueryLogRow[]> {
    await this.ensure();
    const where: string[] = [];
    if (q.fromMs !== undefined) where.push(`date >= ${quoteString(utcDay(q.fromMs))}`, `end_ms >= ${int(q.fromMs)}`);
    if (q.toMs !== undefined) where.push(`date <= ${quoteString(utcDay(q.toMs))}`, `end_ms < ${int(q.toMs)}`);
    if (q.tenant !== undefined) where.push(`tenant = ${quoteString(q.tenant)}`);
    if (q.principal !== undefined) where.push(`principal = ${quoteString(q.principal)}`);
    if (q.states && q.states.length > 0) where.push(`state IN (${q.states.map(quoteString).join(', ')})`);
    if (q.minElapsedMs !== undefined) where.push(`elapsed_ms >= ${num(q.minElapsedMs)}`);
    if (q.normalizedHash !== undefined) {
      if (!/^\d{1,20}$/.test(q.normalizedHash)) throw Errors.validation('a normalized query hash is an unsigned 64-bit decimal', { field: 'hash' });
      where.push(`normalized_query_hash = ${q.normalizedHash}`);
    }
    const key = q.sort === 'slowest' ? 'elapsed_ms' : 'end_ms';
    if (q.after) {
      const k = q.sort === 'slowest' ? num(q.after.key) : int(q.after.key);
      where.push(`(${key} < ${k} OR (${key} = ${k} AND query_id < ${quoteString(q.after.id)}))`);
    }
    const order = ` ORDER BY ${key} DESC, query_id DESC LIMIT 1 BY query_id`;
    const opts = q.signal ? { signal: q.signal } : {};
    const filter = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    const ids = await this.opts.engine.query<{ query_id: string }>(`SELECT query_id FROM ${this.name}${filter}${order} LIMIT ${int(q.limit)}`, opts);
    if (ids.length === 0) return [];
    const rows = await this.opts.engine.query<Record<string, unknown>>(
      `SELECT * FROM ${this.name}${filter}${filter ? ' AND' : ' WHERE'} query_id IN (${ids.map((r) => quoteString(r.query_id)).join(', ')})${order}`,
      opts,
    );
    return rows.map(rowOf);
  }

  /** Drops every daily partition before `cutoffDate` (YYYY-MM-DD); returns the days dropped. */
  async dropDaysBefore(cutoffDate: string): Promise<string[]> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(cutoffDate)) throw Errors.validation('cutoff must be YYYY-MM-DD', { cutoffDate });
    await this.ensure(this.opts.cluster !== undefined);
    const { cluster, engine } = this.opts;
    const loc = cluster ? queryLogLocalLocation(engine.database) : this.table;
    const partsBefore =
      `SELECT DISTINCT partition AS p FROM system.parts WHERE database = ${quoteString(loc.database)} ` +
      `AND table = ${quoteString(loc.table)} AND active AND partition < ${quoteString(cutoffDate)}`;
    const drop = (day: string) => `ALTER TABLE ${quoted(loc)} DROP PARTITION ${quoteString(day)}`;
    if (!cluster) {
      const days = (await engine.query<{ p: string }>(partsBefore)).map((r) => r.p).sort();
      for (const day of days) await engine.exec(drop(day));
      return days;
    }
    // Every node drops what it holds: a replicated drop goes through ZooKeeper, so the
    // others of a shard follow anyway; a node that is down drops its days at a later pass.
    const outcomes = await cluster.engine.onEveryNode(async (e) => {
      const days = (await e.query<{ p: string }>(partsBefore)).map((r) => r.p);
      for (const day of days) await e.exec(drop(day));
      return days;
    });
    for (const o of outcomes) if (!o.ok) this.opts.logger.warn({ node: o.url, err: o.error }, 'query log retention: a node could not drop its old days; retried at the next pass');
    return [...new Set(outcomes.flatMap((o) => (o.ok ? o.value : [])))].sort();
  }

  private async send(lines: string): Promise<void> {
    const { cluster, engine } = this.opts;
    if (cluster) await cluster.engine.insertJsonLines(this.name, lines, { settings: { insert_distributed_sync: 1 } });
    else await engine.insertJsonLines(this.name, lines);
  }
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function quoted(loc: ClickHouseLocation): string {
  return `${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)}`;
}

function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw Errors.validation('expected a non-negative integer', { value: n });
  return String(n);
}

function num(n: number): string {
  if (!Number.isFinite(n) || n < 0) throw Errors.validation('expected a non-negative number', { value: n });
  return String(n);
}

function rowOf(r: Record<string, unknown>): QueryLogRow {
  const out = { ...r } as Record<string, unknown>;
  for (const k of NUMERIC) out[k] = Number(out[k]);
  out.normalized_query_hash = String(out.normalized_query_hash);
  out.elapsed_ms = Number(out.elapsed_ms);
  return out as unknown as QueryLogRow;
}
