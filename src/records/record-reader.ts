// Reads a tenant's records: what the applier has put in ClickHouse merged with
// what is acknowledged but not yet applied (read-your-writes). A data_id shows
// once, at its first acknowledged position.
import type { Applier } from '../applier/applier.js';
import type { PendingRecords } from '../ingest/pending-records.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { idIndexKey } from '../storage/physical-names.js';
import type { StoredRecord } from '../storage/record-types.js';
import { compareRows, isAfter, type CursorPosition } from './read-cursor.js';

/** Where a tenant's records are: applied (ClickHouse) and acknowledged but not yet applied. */
export interface RecordSources {
  tables: TenantTables;
  pending: PendingRecords;
  applier: Pick<Applier, 'committedLsns'>;
}

export interface RecordFilter {
  table: string;
  dataId?: string;
  fromMs?: number;
  toMs?: number;
  after?: CursorPosition;
  limit: number;
}

export interface RecordPage {
  records: StoredRecord[];
  last?: CursorPosition;
  hasMore: boolean;
}

/** Pending (not yet applied) rows matching the filter, minus retries of ids already committed. */
async function pendingMatches(dp: RecordSources, tenant: string, f: RecordFilter): Promise<StoredRecord[]> {
  const inPending = dp.pending.find(
    tenant,
    f.table,
    (r) =>
      (f.dataId === undefined || r.dataId === f.dataId) &&
      (f.fromMs === undefined || r.tsMs >= f.fromMs) &&
      (f.toMs === undefined || r.tsMs < f.toMs) &&
      isAfter(r, f.after),
  );
  if (inPending.length === 0) return inPending;
  const committed = await dp.applier.committedLsns(inPending.map((r) => idIndexKey(tenant, f.table, r.dataId)));
  return inPending.filter((r, i) => committed[i] === undefined || committed[i] === r.lsn).sort(compareRows);
}

/**
 * Streams up to f.limit records in (lsn, data_id) order, merging the
 * ClickHouse stream with pending rows; memory holds only the pending rows.
 */
export async function* streamRecords(dp: RecordSources, tenant: string, f: RecordFilter, signal?: AbortSignal): AsyncGenerator<StoredRecord> {
  const pending = await pendingMatches(dp, tenant, f);
  const pendingIds = new Set(pending.map((r) => r.dataId));
  let p = 0;
  let emitted = 0;
  const applied = dp.tables.stream(tenant, f.table, { dataId: f.dataId, fromMs: f.fromMs, toMs: f.toMs, after: f.after, limit: f.limit }, signal);
  for await (const row of applied) {
    while (p < pending.length && compareRows(pending[p]!, row) < 0) {
      if (emitted++ >= f.limit) return;
      yield pending[p++]!;
    }
    // A row being applied right now is in both places: ClickHouse's copy stands.
    if (pendingIds.has(row.dataId)) {
      const i = pending.findIndex((x, k) => k >= p && x.dataId === row.dataId);
      if (i >= 0) pending.splice(i, 1);
    }
    if (emitted++ >= f.limit) return;
    yield row;
  }
  while (p < pending.length) {
    if (emitted++ >= f.limit) return;
    yield pending[p++]!;
  }
}

export async function readRecords(dp: RecordSources, tenant: string, f: RecordFilter): Promise<RecordPage> {
  const fetch = f.limit + 1;
  const applied = await dp.tables.read(tenant, f.table, {
    dataId: f.dataId,
    fromMs: f.fromMs,
    toMs: f.toMs,
    after: f.after,
    limit: fetch,
  });
  // A pending row whose id was committed earlier is a retry: the stored one stands.
  const pending = await pendingMatches(dp, tenant, f);
  const seen = new Set<string>();
  const merged: StoredRecord[] = [];
  for (const r of [...applied, ...pending].sort(compareRows)) {
    if (seen.has(r.dataId)) continue;
    seen.add(r.dataId);
    merged.push(r);
  }
  const hasMore = merged.length > f.limit;
  const records = merged.slice(0, f.limit);
  const lastRow = records[records.length - 1];
  return { records, hasMore, last: lastRow ? { lsn: lastRow.lsn, dataId: lastRow.dataId } : undefined };
}

export function toApiRecord(r: StoredRecord) {
  return { data_id: r.dataId, timestamp: new Date(r.tsMs).toISOString(), lsn: r.lsn, payload: r.payload };
}
