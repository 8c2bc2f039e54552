// What the applier, the readers, retention and the query path need from the
// tenant tables in ClickHouse, whatever holds them: one server or the embedded
// engine (TenantTableStore), or a sharded, replicated cluster
// (ClusterTableStore). Both name a tenant table the same way for queries, so
// the SQL generator does not know which one it runs on.
import type { ClickHouseLocation } from '../physical-names.js';
import type { ColumnSpec, StoredRecord } from '../record-types.js';

export interface ReadQuery {
  dataId?: string;
  /** Inclusive lower bound on ts_ms. */
  fromMs?: number;
  /** Exclusive upper bound on ts_ms. */
  toMs?: number;
  /** Only records with lsn > afterLsn. */
  afterLsn?: number;
  /** Keyset cursor: only records after (lsn, dataId) in (lsn, data_id) order. */
  after?: { lsn: number; dataId: string };
  limit: number;
}

export interface TenantTables {
  /** The quoted, database-qualified table queries name (in cluster mode the Distributed table). */
  tableName(tenant: string, table: string): string;
  /** The unquoted database and table queries name, for lookups in system tables. */
  location(tenant: string, table: string): ClickHouseLocation;
  /** Creates the table, or adds promoted columns it lacks; idempotent. */
  ensureTable(tenant: string, table: string, columns: ColumnSpec[]): Promise<void>;
  /**
   * Inserts records (in LSN order) so that each (tenant, table, data_id) is
   * stored once. `knownAbsent`: the caller knows none of these ids is stored yet.
   */
  insertIdempotent(
    tenant: string,
    table: string,
    columns: ColumnSpec[],
    records: StoredRecord[],
    opts?: { knownAbsent?: boolean },
  ): Promise<{ inserted: number; skipped: number }>;
  /** Inserts rows rendered by tableRowLine into a table made ready by ensureTable; ids already stored were left out by the caller. */
  insertLines(tenant: string, table: string, lines: string): Promise<void>;
  /** Ids of `ids` that the table already holds (none when it does not exist). */
  existingIds(tenant: string, table: string, ids: readonly string[]): Promise<Set<string>>;
  count(tenant: string, table: string): Promise<number>;
  countDistinctIds(tenant: string, table: string): Promise<number>;
  read(tenant: string, table: string, q: ReadQuery): Promise<StoredRecord[]>;
  /**
   * Up to `limit` applied rows spread over the whole table (ordered by a hash
   * of data_id: the same sample every time for the same rows), for statistics.
   */
  sample(tenant: string, table: string, limit: number): Promise<StoredRecord[]>;
  /** Same rows as read(), one at a time, never holding the whole result. */
  stream(tenant: string, table: string, q: ReadQuery, signal?: AbortSignal): AsyncGenerator<StoredRecord>;
  /** Removes every row of UTC days before `cutoffDate` (YYYY-MM-DD); done when it returns. */
  deleteDaysBefore(tenant: string, table: string, cutoffDate: string): Promise<void>;
  dropTable(tenant: string, table: string): Promise<void>;
  /**
   * The LSN through which the applier's next batch after `checkpointLsn` must
   * reach, when an insert of a batch that was never committed has to be
   * re-sent exactly as it was (cluster mode: block deduplication absorbs
   * only an identical block). Undefined when nothing is owed.
   */
  resumeThroughLsn?(checkpointLsn: number): Promise<number | undefined>;
}
