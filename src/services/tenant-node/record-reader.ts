// Reads a tenant's records: what the applier has put in ClickHouse merged with
// what is acknowledged but not yet applied (read-your-writes). A data_id shows
// once, at its first acknowledged position.
import { idKey } from '../../applier/applier.js';
import type { DataPath } from '../../data-path.js';
import type { StoredRecord } from '../../storage/record-types.js';
import { compareRows, isAfter, type CursorPosition } from './read-cursor.js';

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

export async function readRecords(dp: DataPath, tenant: string, f: RecordFilter): Promise<RecordPage> {
  const fetch = f.limit + 1;
  const applied = await dp.tables.read(tenant, f.table, {
    dataId: f.dataId,
    fromMs: f.fromMs,
    toMs: f.toMs,
    after: f.after,
    limit: fetch,
  });
  const inPending = dp.pending.find(
    tenant,
    f.table,
    (r) =>
      (f.dataId === undefined || r.dataId === f.dataId) &&
      (f.fromMs === undefined || r.tsMs >= f.fromMs) &&
      (f.toMs === undefined || r.tsMs < f.toMs) &&
      isAfter(r, f.after),
  );
  // A pending row whose id was committed earlier is a retry: the stored one stands.
  let pending = inPending;
  if (inPending.length > 0) {
    const committed = await dp.applier.committedLsns(inPending.map((r) => idKey(tenant, f.table, r.dataId)));
    pending = inPending.filter((r, i) => committed[i] === undefined || committed[i] === r.lsn);
  }
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
