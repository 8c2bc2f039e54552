// What the catalog needs to know about a part, computed from its records the
// same way by every writer.
import type { StoredRecord } from './types.js';

export interface PartSummary {
  rows: number;
  firstLsn: number;
  lastLsn: number;
  minTsMs: number;
  maxTsMs: number;
}

/** `records` must be non-empty and sorted by LSN. */
export function summarize(records: readonly StoredRecord[]): PartSummary {
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last) throw new RangeError('a part needs at least one record');
  let minTsMs = first.tsMs;
  let maxTsMs = first.tsMs;
  for (const r of records) {
    if (r.tsMs < minTsMs) minTsMs = r.tsMs;
    if (r.tsMs > maxTsMs) maxTsMs = r.tsMs;
  }
  return { rows: records.length, firstLsn: first.lsn, lastLsn: last.lsn, minTsMs, maxTsMs };
}
