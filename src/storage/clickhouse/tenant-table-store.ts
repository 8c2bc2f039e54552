// Sink (a) of the data path: one ClickHouse table per (tenant, table), in the
// tenant's own database; both names come from physical-names.ts.
//
// Layout: data_id, ts_ms (Int64 ms, 18.16 has no DateTime64), date (UTC day of
// ts_ms, the partition key), lsn, payload (the record's JSON text) plus one
// Nullable column per promoted payload field. ReplacingMergeTree(lsn) is only a
// safety net: exactness comes from insertIdempotent, which the single applier
// calls, so count() equals the number of distinct ids without FINAL.
// Reads are ordered by (lsn, data_id); data_id compares bytewise (UTF-8).

import { Errors } from '../../platform/errors.js';
import { mapInSlices } from '../../platform/slices.js';
import { clickhouseLocation, type ClickHouseLocation } from '../physical-names.js';
import type { ClickHouseEngine } from './clickhouse-engine.js';
import { isUnknownTableError } from './engine-errors.js';
import { quoteIdentifier, quoteString, renderList } from './sql-literal.js';
import type { ColumnSpec, ColumnType, StoredRecord } from '../record-types.js';
import { recordOfRow, recordsSql, sampleSql, type RecordRow } from './record-query.js';
import { FIXED_COLUMNS_DDL, assertTableRef, columnDdl, columnTypeOf, tableRowLine, validateColumns } from './tenant-table-schema.js';
import type { ReadQuery, TenantTables } from './tenant-tables.js';

export type { ColumnSpec, ColumnType, StoredRecord } from '../record-types.js';
export type { ReadQuery } from './tenant-tables.js';

/** How every tenant table is laid out: the DDL below and the catalog's /metadata/indexes both read this. */
export const TABLE_LAYOUT = {
  engine: 'ReplacingMergeTree(lsn)',
  partitionKey: 'toYYYYMM(date)',
  sortKey: ['data_id'],
} as const;

// Bounded so an IN list stays far below max_query_size on both engines.
const ID_LOOKUP_CHUNK = 1000;
const INSERT_CHUNK = 10_000;

export class TenantTableStore implements TenantTables {
  // Per table: promoted column name → type as known to exist in ClickHouse.
  private readonly known = new Map<string, Map<string, ColumnType>>();
  // Tenant databases known to exist (created before a tenant's first table).
  private readonly databases = new Set<string>();

  constructor(private readonly engine: ClickHouseEngine) {}

  /** The quoted, database-qualified table of (tenant, table), for SQL. */
  tableName(tenant: string, table: string): string {
    const loc = this.location(tenant, table);
    return `${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)}`;
  }

  /** The unquoted database and table of (tenant, table), for lookups in system tables. */
  location(tenant: string, table: string): ClickHouseLocation {
    assertTableRef(tenant, table);
    return clickhouseLocation(this.engine.database, tenant, table);
  }

  async ensureTable(tenant: string, table: string, columns: ColumnSpec[]): Promise<void> {
    validateColumns(columns);
    const name = this.tableName(tenant, table);
    let existing = this.known.get(name);
    if (existing && columns.every((c) => existing?.get(c.name) === c.type)) return;

    if (!existing) {
      await this.ensureDatabase(this.location(tenant, table).database);
      await this.engine.exec(
        `CREATE TABLE IF NOT EXISTS ${name} (` +
          [...FIXED_COLUMNS_DDL, ...columns.map(columnDdl)].join(', ') +
          `) ENGINE = ${TABLE_LAYOUT.engine} PARTITION BY ${TABLE_LAYOUT.partitionKey} ORDER BY ${TABLE_LAYOUT.sortKey.join(', ')}` +
          // The applier deletes WAL segments once a batch is in both sinks, so an
          // insert must be on disk, not only in the page cache, when it returns.
          // 18.16 has no such settings (its operator configures the server).
          (this.engine.kind === 'embedded' ? ' SETTINGS fsync_after_insert = 1, fsync_part_directory = 1' : ''),
      );
      existing = await this.loadColumns(tenant, table);
    }
    for (const col of columns) {
      const have = existing.get(col.name);
      if (have === col.type) continue;
      if (have !== undefined) {
        throw Errors.conflict(`column ${col.name} of ${tenant}/${table} is ${have}, cannot change it to ${col.type}`);
      }
      // 18.16 has no ADD COLUMN IF NOT EXISTS: add, and if someone else won
      // the race, re-read and check the type they chose.
      try {
        await this.engine.exec(`ALTER TABLE ${name} ADD COLUMN ${columnDdl(col)}`);
        existing.set(col.name, col.type);
      } catch (err) {
        existing = await this.loadColumns(tenant, table);
        if (existing.get(col.name) !== col.type) throw err;
      }
    }
    this.known.set(name, existing);
  }

  async insertIdempotent(
    tenant: string,
    table: string,
    columns: ColumnSpec[],
    records: StoredRecord[],
    opts: { knownAbsent?: boolean } = {},
  ): Promise<{ inserted: number; skipped: number }> {
    if (records.length === 0) return { inserted: 0, skipped: 0 };
    await this.ensureTable(tenant, table, columns);
    const name = this.tableName(tenant, table);

    const firstById = new Map<string, StoredRecord>();
    for (const r of records) if (!firstById.has(r.dataId)) firstById.set(r.dataId, r);
    // knownAbsent: the caller (the single applier) knows none of these ids can be
    // in the table yet, so the lookup is skipped; it is needed only on a retry.
    if (!opts.knownAbsent) for (const id of await this.existingIds(tenant, table, [...firstById.keys()])) firstById.delete(id);

    const lines = await mapInSlices([...firstById.values()], (r) => tableRowLine(r, columns));
    for (let i = 0; i < lines.length; i += INSERT_CHUNK) {
      await this.engine.insertJsonLines(name, lines.slice(i, i + INSERT_CHUNK).join('\n'));
    }
    return { inserted: lines.length, skipped: records.length - lines.length };
  }

  /** Ids of `ids` that the table already holds (none when it does not exist). */
  async existingIds(tenant: string, table: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const name = this.tableName(tenant, table);
    for (let i = 0; i < ids.length; i += ID_LOOKUP_CHUNK) {
      const chunk = ids.slice(i, i + ID_LOOKUP_CHUNK);
      const rows = await this.unlessMissing(
        tenant,
        table,
        () => this.engine.query<{ data_id: string }>(`SELECT DISTINCT data_id FROM ${name} WHERE data_id IN ${renderList(chunk)}`),
        [],
      );
      for (const row of rows) found.add(row.data_id);
    }
    return found;
  }

  /**
   * Inserts rows already rendered by tableRowLine (one JSON object per line) into a
   * table made ready by ensureTable. Unlike insertIdempotent it does not look
   * for ids already present: the caller has left them out (see existingIds).
   */
  async insertLines(tenant: string, table: string, lines: string): Promise<void> {
    await this.engine.insertJsonLines(this.tableName(tenant, table), lines);
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
    const sql = recordsSql(this.tableName(tenant, table), q);
    const rows = await this.unlessMissing(tenant, table, () => this.engine.query<RecordRow>(sql), []);
    return rows.map(recordOfRow);
  }

  async sample(tenant: string, table: string, limit: number): Promise<StoredRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) throw Errors.badRequest('limit must be a non-negative integer');
    if (limit === 0) return [];
    const sql = sampleSql(this.tableName(tenant, table), limit);
    const rows = await this.unlessMissing(tenant, table, () => this.engine.query<RecordRow>(sql), []);
    return rows.map(recordOfRow);
  }

  /** Same rows as read(), one at a time, never holding the whole result. */
  async *stream(tenant: string, table: string, q: ReadQuery, signal?: AbortSignal): AsyncGenerator<StoredRecord> {
    if (!Number.isSafeInteger(q.limit) || q.limit < 0) throw Errors.badRequest('limit must be a non-negative integer');
    if (q.limit === 0) return;
    const rows = this.engine.queryStream(recordsSql(this.tableName(tenant, table), q), { signal })[Symbol.asyncIterator]();
    let first: IteratorResult<Record<string, unknown>>;
    try {
      first = await rows.next();
    } catch (err) {
      if (isUnknownTableError(err)) return;
      if (!(await this.exists(tenant, table))) return;
      throw err;
    }
    for (let r = first; !r.done; r = await rows.next()) yield recordOfRow(r.value as unknown as RecordRow);
  }




  /**
   * ALTER … DELETE of the days before the cutoff, waited for: its partitions
   * are months (toYYYYMM), so a day cannot be dropped alone. Cluster mode
   * drops whole days instead (ClusterTableStore).
   */
  async deleteDaysBefore(tenant: string, table: string, cutoffDate: string): Promise<void> {
    await this.engine.exec(`ALTER TABLE ${this.tableName(tenant, table)} DELETE WHERE date < toDate(${quoteString(cutoffDate)})`);
    await this.waitForMutations(this.location(tenant, table));
  }

  /** ALTER … DELETE is asynchronous on every version we run; wait until it is done (mutations_sync does not exist on 18.16). */
  private async waitForMutations(loc: ClickHouseLocation, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.engine.query<{ n: string }>(
        `SELECT count() AS n FROM system.mutations WHERE database = ${quoteString(loc.database)} AND table = ${quoteString(loc.table)} AND is_done = 0`,
      );
      if (Number(rows[0]?.n ?? 0) === 0) return;
      if (Date.now() > deadline) throw Errors.storageFailure(`retention delete on ${loc.database}.${loc.table} still running after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async dropTable(tenant: string, table: string): Promise<void> {
    const name = this.tableName(tenant, table);
    this.known.delete(name);
    try {
      await this.engine.exec(`DROP TABLE IF EXISTS ${name}`);
    } catch (err) {
      // IF EXISTS does not cover a missing database on every version: nothing to drop.
      if (!isUnknownTableError(err)) throw err;
    }
  }

  private async ensureDatabase(database: string): Promise<void> {
    if (this.databases.has(database)) return;
    // 18.16 has no Atomic engine; either engine's default suits one tenant's tables.
    await this.engine.exec(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`);
    this.databases.add(database);
  }

  private async scalar(tenant: string, table: string, expr: string): Promise<number> {
    const rows = await this.unlessMissing(
      tenant,
      table,
      () => this.engine.query<{ c: string | number }>(`SELECT ${expr} AS c FROM ${this.tableName(tenant, table)}`),
      [{ c: 0 }],
    );
    return Number(rows[0]?.c ?? 0);
  }

  // A table that was never written reads as empty. Existence is checked only on
  // the error path, so the common case costs one query.
  private async unlessMissing<T>(tenant: string, table: string, run: () => Promise<T>, empty: T): Promise<T> {
    try {
      return await run();
    } catch (err) {
      // The table may be created by the applier between the failed query and an
      // existence check, so the engine's own "unknown table" answer decides first.
      if (isUnknownTableError(err)) return empty;
      if (await this.exists(tenant, table)) throw err;
      return empty;
    }
  }

  private async exists(tenant: string, table: string): Promise<boolean> {
    const loc = this.location(tenant, table);
    const rows = await this.engine.query(
      `SELECT 1 AS x FROM system.tables WHERE database = ${quoteString(loc.database)} AND name = ${quoteString(loc.table)}`,
    );
    return rows.length > 0;
  }

  private async loadColumns(tenant: string, table: string): Promise<Map<string, ColumnType>> {
    const loc = this.location(tenant, table);
    const rows = await this.engine.query<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = ${quoteString(loc.database)} AND table = ${quoteString(loc.table)}`,
    );
    const cols = new Map<string, ColumnType>();
    for (const r of rows) {
      const t = columnTypeOf(r.type);
      if (t) cols.set(r.name, t);
    }
    return cols;
  }
}
