// Sink (a) in cluster mode: the tenant tables on a sharded, replicated
// ClickHouse cluster, behind the same interface as the single-server store.
// Queries name the Distributed table (`<base>__<tenant>.<table>`); its rows
// live in ReplicatedReplacingMergeTree tables (cluster-schema.ts).
//
// Writes: one synchronous insert per chunk through the Distributed table,
// acknowledged once insert_quorum replicas of every shard hold it, so
// "applied" means "on a quorum". Rows go in LSN order, cut into chunks that
// depend only on the rows, and an intent (cluster-insert-intents.ts) makes a
// re-sent chunk the identical block, which the replicas' block deduplication
// absorbs: no existing-id lookup is needed. Quorum, read-only, ZooKeeper,
// timeout and connection failures are retried with backoff; past the retry
// deadline the applier sees the failure and tries the batch again later
// (the WAL keeps acknowledging meanwhile).
//
// Reads that must see every applied row (GET /data, id lookups) are
// sequentially consistent: a replica lacking a quorum-written part refuses
// (stale-replica) and the read is asked again, elsewhere.
//
// Retention drops whole days (PARTITION BY date) on one live replica per
// shard: replication empties the others. Never ALTER DELETE (a replicated
// mutation on 18.16 can run for many minutes).
import type { ClickHouseSettings } from '@clickhouse/client';
import type { Logger } from 'pino';
import { Errors } from '../../platform/errors.js';
import { mapInSlices } from '../../platform/slices.js';
import type { StateAccess } from '../../platform/state-store.js';
import type { ClickHouseLocation } from '../physical-names.js';
import type { ColumnSpec, StoredRecord } from '../record-types.js';
import type { ClusterFailure } from './cluster-errors.js';
import { chunkStarts, InsertIntents, type InsertIntent } from './cluster-insert-intents.js';
import { RETRIABLE_READ, RETRIABLE_WRITE, withClusterRetry } from './cluster-retry.js';
import type { ClusterLayout, ClusterSchema } from './cluster-schema.js';
import { isUnknownTableError } from './engine-errors.js';
import type { MultiNodeEngine } from './multi-node-engine.js';
import { recordOfRow, recordsSql, sampleSql, type RecordRow } from './record-query.js';
import { quoteIdentifier, quoteString, renderList } from './sql-literal.js';
import { assertTableRef, tableRowLine, validateColumns } from './tenant-table-schema.js';
import type { ReadQuery, TenantTables } from './tenant-tables.js';

export interface ClusterTableStoreOptions {
  engine: MultiNodeEngine;
  schema: ClusterSchema;
  layout: () => ClusterLayout;
  /** Where insert intents are kept (synced writes). */
  state: StateAccess;
  /** CLICKHOUSE_TIMEOUT_MS: insert_quorum_timeout stays below it, so the server gives up first and says why. */
  requestTimeoutMs: number;
  logger: Logger;
  /** Told of every retried failure (metrics). */
  onRetry?: (operation: 'insert' | 'read' | 'retention', kind: ClusterFailure) => void;
  /** Rows per insert (one block per shard and day). */
  chunkRows?: number;
  /** How long one statement is retried before the failure goes to the caller. */
  retryDeadlineMs?: number;
}

/** Sequentially consistent: a replica without every quorum-written part refuses rather than answers short. */
const CONSISTENT: ClickHouseSettings = { select_sequential_consistency: '1', prefer_localhost_replica: 0 };
const DEFAULT_CHUNK_ROWS = 10_000;
// replicated_deduplication_window is 100 blocks per table (18.16's default):
// one chunk never makes more than that on a shard, so a re-sent chunk is
// always checked against all of its own blocks.
const MAX_CHUNK_DAYS = 100;
const ID_LOOKUP_CHUNK = 1000;
const DEFAULT_RETRY_DEADLINE_MS = 30_000;
const READ_RETRY_DEADLINE_MS = 10_000;

/** One chunk to send: rows of a segment, rendered with that segment's columns. */
interface PlannedChunk {
  rows: StoredRecord[];
  columns: ColumnSpec[];
}

export class ClusterTableStore implements TenantTables {
  private readonly intents: InsertIntents;

  constructor(private readonly opts: ClusterTableStoreOptions) {
    this.intents = new InsertIntents(opts.state);
  }

  tableName(tenant: string, table: string): string {
    const loc = this.location(tenant, table);
    return `${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)}`;
  }

  location(tenant: string, table: string): ClickHouseLocation {
    assertTableRef(tenant, table);
    return this.opts.schema.distLocation(tenant, table);
  }

  /**
   * While a chunk of an interrupted insert is still owed, the table keeps the
   * columns it had when that chunk was first sent (a new column would make the
   * re-sent block a different one); insertIdempotent adds the rest after it.
   */
  async ensureTable(tenant: string, table: string, columns: ColumnSpec[]): Promise<void> {
    assertTableRef(tenant, table);
    validateColumns(columns);
    const owed = owedSegment(await this.intents.get(tenant, table));
    await this.opts.schema.ensure(tenant, table, owed ? owed.columns : columns);
  }

  async insertIdempotent(
    tenant: string,
    table: string,
    columns: ColumnSpec[],
    records: StoredRecord[],
  ): Promise<{ inserted: number; skipped: number }> {
    assertTableRef(tenant, table);
    validateColumns(columns);
    if (records.length === 0) return { inserted: 0, skipped: 0 };
    const first = new Set<string>();
    const rows: StoredRecord[] = [];
    for (const r of records) {
      if (first.has(r.dataId)) continue;
      first.add(r.dataId);
      rows.push(r);
    }
    for (let i = 1; i < rows.length; i++) {
      if (rows[i]!.lsn < rows[i - 1]!.lsn) throw Errors.storageFailure(`records of ${tenant}/${table} are not in LSN order`);
    }
    await this.insertInChunks(tenant, table, columns, rows);
    return { inserted: rows.length, skipped: records.length - rows.length };
  }

  /** The applier renders lines only for the embedded engine's Parquet writer; cluster inserts need the records (see insertIdempotent). */
  async insertLines(): Promise<void> {
    throw Errors.storageFailure('cluster mode inserts records through insertIdempotent, not pre-rendered lines');
  }

  async resumeThroughLsn(checkpointLsn: number): Promise<number | undefined> {
    return this.intents.pruneThrough(checkpointLsn);
  }

  async existingIds(tenant: string, table: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const name = this.tableName(tenant, table);
    for (let i = 0; i < ids.length; i += ID_LOOKUP_CHUNK) {
      const sql = `SELECT DISTINCT data_id FROM ${name} WHERE data_id IN ${renderList(ids.slice(i, i + ID_LOOKUP_CHUNK))}`;
      for (const row of await this.consistentQuery<{ data_id: string }>(tenant, table, sql, [])) found.add(row.data_id);
    }
    return found;
  }

  async count(tenant: string, table: string): Promise<number> {
    return this.scalar(tenant, table, 'count()');
  }

  async countDistinctIds(tenant: string, table: string): Promise<number> {
    return this.scalar(tenant, table, 'uniqExact(data_id)');
  }

  async read(tenant: string, table: string, q: ReadQuery): Promise<StoredRecord[]> {
    if (!Number.isSafeInteger(q.limit) || q.limit < 0) throw Errors.badRequest('limit must be a non-negative integer');
    if (q.limit === 0) return [];
    const rows = await this.consistentQuery<RecordRow>(tenant, table, recordsSql(this.tableName(tenant, table), q), []);
    return rows.map(recordOfRow);
  }

  async sample(tenant: string, table: string, limit: number): Promise<StoredRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) throw Errors.badRequest('limit must be a non-negative integer');
    if (limit === 0) return [];
    const rows = await this.consistentQuery<RecordRow>(tenant, table, sampleSql(this.tableName(tenant, table), limit), []);
    return rows.map(recordOfRow);
  }

  async *stream(tenant: string, table: string, q: ReadQuery, signal?: AbortSignal): AsyncGenerator<StoredRecord> {
    if (!Number.isSafeInteger(q.limit) || q.limit < 0) throw Errors.badRequest('limit must be a non-negative integer');
    if (q.limit === 0) return;
    const sql = recordsSql(this.tableName(tenant, table), q);
    // A stale replica refuses before the first row, so the stream is retried only until then.
    let rows!: AsyncIterator<Record<string, unknown>>;
    let first!: IteratorResult<Record<string, unknown>>;
    try {
      await withClusterRetry(
        async () => {
          rows = this.opts.engine.queryStream(sql, { signal, settings: CONSISTENT })[Symbol.asyncIterator]();
          first = await rows.next();
        },
        this.readRetry(signal),
      );
    } catch (err) {
      if (isUnknownTableError(err) || !(await this.exists(tenant, table))) return;
      throw err;
    }
    for (let r = first; !r.done; r = await rows.next()) yield recordOfRow(r.value as unknown as RecordRow);
  }

  /**
   * DROP PARTITION of every day before the cutoff that any replica holds, on
   * one live replica per shard (retried: a replica that just rejoined may
   * answer 292), then waits briefly for the other replicas to follow.
   */
  async deleteDaysBefore(tenant: string, table: string, cutoffDate: string): Promise<void> {
    assertTableRef(tenant, table);
    const { engine, schema } = this.opts;
    const local = schema.localLocation(tenant, table);
    const partsBefore = `SELECT DISTINCT partition AS p FROM system.parts WHERE database = ${quoteString(local.database)} AND table = ${quoteString(local.table)} AND active AND partition < ${quoteString(cutoffDate)}`;
    const seen = await engine.onEveryNode((e) => e.query<{ p: string }>(partsBefore));
    const days = [...new Set(seen.flatMap((o) => (o.ok ? o.value.map((r) => r.p) : [])))].sort();
    if (days.length === 0) return;
    for (const s of this.opts.layout().topology.shards) {
      for (const day of days) {
        await withClusterRetry(
          () => schema.onShard(s.shard, (e) => e.exec(`ALTER TABLE ${quoteIdentifier(local.database)}.${quoteIdentifier(local.table)} DROP PARTITION ${quoteString(day)}`)),
          { retriable: RETRIABLE_WRITE, deadlineMs: this.opts.retryDeadlineMs ?? DEFAULT_RETRY_DEADLINE_MS, onRetry: (kind) => this.opts.onRetry?.('retention', kind) },
        );
      }
    }
    // Replicas drop the days from the replication log within a second or two.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const left = (await engine.onEveryNode((e) => e.query<{ p: string }>(partsBefore))).filter((o) => o.ok && o.value.length > 0);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        this.opts.logger.warn({ tenant, table, cutoffDate, replicas: left.map((o) => o.url) }, 'retention: some replicas still hold dropped days; replication removes them');
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async dropTable(tenant: string, table: string): Promise<void> {
    assertTableRef(tenant, table);
    await this.opts.schema.drop(tenant, table);
    await this.intents.remove(tenant, table);
  }

  /**
   * Sends the rows in chunks, resuming an interrupted insert of the same rows
   * first: the intent's segments (one per attempt that met new rows) are cut
   * into chunks again exactly as before, the acknowledged ones skipped.
   */
  private async insertInChunks(tenant: string, table: string, columns: ColumnSpec[], rows: StoredRecord[]): Promise<void> {
    const chunkRows = this.opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
    let intent = await this.intents.get(tenant, table);
    const firstLsn = rows[0]!.lsn;
    const lastLsn = rows[rows.length - 1]!.lsn;
    if (intent && (lastLsn < intent.firstLsn || firstLsn > lastOf(intent))) intent = undefined; // committed since: obsolete
    const resuming = intent !== undefined;
    if (intent && (firstLsn < intent.firstLsn || lastLsn < lastOf(intent))) {
      throw Errors.storageFailure(
        `the rows of ${tenant}/${table} (LSN ${firstLsn}..${lastLsn}) do not cover the interrupted insert of LSN ${intent.firstLsn}..${lastOf(intent)}; it is re-sent once a batch does`,
      );
    }
    const plan: PlannedChunk[] = [];
    let from = 0;
    for (const seg of intent?.segments ?? []) {
      let to = from;
      while (to < rows.length && rows[to]!.lsn <= seg.lastLsn) to++;
      const segRows = rows.slice(from, to);
      const chunks = cut(segRows, chunkRows);
      if (chunks.length !== seg.chunks) {
        this.opts.logger.error(
          { tenant, table, lastLsn: seg.lastLsn, chunks: chunks.length, before: seg.chunks },
          'cluster insert: an interrupted insert is re-sent in other chunks than before; block deduplication may miss rows that landed',
        );
      }
      for (const c of chunks) plan.push({ rows: c, columns: seg.columns });
      from = to;
    }
    if (from < rows.length) {
      const fresh = rows.slice(from);
      const chunks = cut(fresh, chunkRows);
      const segment = { lastLsn: fresh[fresh.length - 1]!.lsn, columns, chunks: chunks.length };
      intent = intent
        ? { ...intent, segments: [...intent.segments, segment] }
        : { tenant, table, firstLsn: fresh[0]!.lsn, segments: [segment], chunksDone: 0 };
      // Written before the first of these rows leaves: after a crash they are re-sent exactly so.
      await this.intents.put(intent);
      for (const c of chunks) plan.push({ rows: c, columns });
    }
    if (!intent) return;
    let ensured: ColumnSpec[] | undefined;
    const firstOwed = intent.chunksDone;
    for (let i = intent.chunksDone; i < plan.length; i++) {
      const chunk = plan[i]!;
      if (chunk.columns !== ensured) {
        await this.opts.schema.ensure(tenant, table, chunk.columns);
        ensured = chunk.columns;
      }
      // The first chunk still owed by an interrupted insert may have been sent (and failed) before.
      await this.sendChunk(tenant, table, chunk, resuming && i === firstOwed);
      intent = { ...intent, chunksDone: i + 1 };
      await this.intents.put(intent);
    }
  }

  /**
   * One chunk, retried as the identical block until the quorum acknowledges
   * it. Before a chunk is sent again (after a failed attempt, or when
   * resuming an interrupted insert) every replica that answers is settled:
   * a failed attempt can leave what it wrote as a stray part on one replica
   * (cluster-stray-parts.ts), which block deduplication cannot see, and the
   * re-sent block would then be stored twice there. Once such a chunk is
   * acknowledged they are settled again: a shard that marks the quorum of an
   * earlier attempt failed between the last settling and the insert frees
   * its block id (so the insert lands anew) while its writer may keep it.
   */
  private async sendChunk(tenant: string, table: string, chunk: PlannedChunk, resuming: boolean): Promise<void> {
    const lines = (await mapInSlices(chunk.rows, (r) => tableRowLine(r, chunk.columns))).join('\n');
    const name = this.tableName(tenant, table);
    const settings: ClickHouseSettings = {
      insert_distributed_sync: 1,
      insert_quorum: String(this.opts.layout().quorum),
      // Below the HTTP timeout, so a quorum that cannot be met is the server's answer, not a cut connection.
      insert_quorum_timeout: Math.max(1000, Math.floor(this.opts.requestTimeoutMs * 0.8)),
    };
    let unsettled = resuming;
    let sentBefore = resuming;
    const attempt = async () => {
      if (unsettled) {
        await this.opts.schema.settle(tenant, table);
        unsettled = false;
      }
      try {
        await this.opts.engine.insertJsonLines(name, lines, { settings });
      } catch (err) {
        unsettled = true;
        sentBefore = true;
        throw err;
      }
    };
    const retry = (what: string) => ({
      retriable: RETRIABLE_WRITE,
      deadlineMs: this.opts.retryDeadlineMs ?? DEFAULT_RETRY_DEADLINE_MS,
      onRetry: (kind: ClusterFailure, attempt: number, err: unknown) => {
        this.opts.onRetry?.('insert', kind);
        if (attempt === 1 || attempt % 10 === 0) this.opts.logger.warn({ tenant, table, kind, attempt, err }, what);
      },
    });
    await withClusterRetry(attempt, retry('cluster insert retried (the identical block is sent again)'));
    if (sentBefore) await withClusterRetry(() => this.opts.schema.settle(tenant, table), retry('cluster insert: removing stray parts after a retried chunk failed; tried again'));
  }

  private async scalar(tenant: string, table: string, expr: string): Promise<number> {
    const rows = await this.consistentQuery<{ c: string | number }>(tenant, table, `SELECT ${expr} AS c FROM ${this.tableName(tenant, table)}`, [{ c: 0 }]);
    return Number(rows[0]?.c ?? 0);
  }

  /** A sequentially consistent query, asked again on a stale replica; a table not created yet reads as `empty`. */
  private async consistentQuery<T>(tenant: string, table: string, sql: string, empty: T[]): Promise<T[]> {
    try {
      return await withClusterRetry(() => this.opts.engine.query<T>(sql, { settings: CONSISTENT }), this.readRetry());
    } catch (err) {
      if (isUnknownTableError(err)) return empty;
      if (await this.exists(tenant, table)) throw err;
      return empty;
    }
  }

  private readRetry(signal?: AbortSignal) {
    return {
      retriable: RETRIABLE_READ,
      deadlineMs: READ_RETRY_DEADLINE_MS,
      firstDelayMs: 50,
      maxDelayMs: 500,
      onRetry: (kind: ClusterFailure) => this.opts.onRetry?.('read', kind),
      ...(signal ? { signal } : {}),
    };
  }

  private async exists(tenant: string, table: string): Promise<boolean> {
    const loc = this.location(tenant, table);
    const rows = await this.opts.engine.query(
      `SELECT 1 AS x FROM system.tables WHERE database = ${quoteString(loc.database)} AND name = ${quoteString(loc.table)}`,
    );
    return rows.length > 0;
  }
}

function cut(rows: StoredRecord[], chunkRows: number): StoredRecord[][] {
  const starts = chunkStarts(rows, chunkRows, MAX_CHUNK_DAYS);
  return starts.map((s, i) => rows.slice(s, starts[i + 1] ?? rows.length));
}

function lastOf(intent: InsertIntent): number {
  return intent.segments[intent.segments.length - 1]!.lastLsn;
}

/** The segment holding the first chunk still owed, or undefined when every chunk was acknowledged. */
function owedSegment(intent: InsertIntent | undefined): InsertIntent['segments'][number] | undefined {
  if (!intent) return undefined;
  let done = intent.chunksDone;
  for (const seg of intent.segments) {
    if (done < seg.chunks) return seg;
    done -= seg.chunks;
  }
  return undefined;
}
