// Partitioning is by UTC calendar date so that a partition's name never
// depends on the server's time zone.

import { Errors } from '../../platform/errors.js';
import type { StoredRecord } from './types.js';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const MS_PER_DAY = 86_400_000;

/** YYYY-MM-DD (UTC) of a millisecond timestamp; null outside years 0000–9999. */
export function utcDateOf(tsMs: number): string | null {
  if (!Number.isSafeInteger(tsMs)) return null;
  const d = new Date(tsMs);
  if (Number.isNaN(d.getTime())) return null;
  // toISOString() switches to a signed 6-digit year outside 0000–9999, which
  // would not fit the date=YYYY-MM-DD layout.
  const iso = d.toISOString();
  return DATE_RE.test(iso.slice(0, 10)) && iso.length === 24 ? iso.slice(0, 10) : null;
}

export function isValidDate(date: string): boolean {
  if (!DATE_RE.test(date)) return false;
  const ms = Date.parse(`${date}T00:00:00.000Z`);
  return !Number.isNaN(ms) && utcDateOf(ms) === date;
}

/**
 * Groups records by UTC date of tsMs, each group sorted by LSN. Map order is
 * ascending by date so callers get deterministic output. Records whose tsMs has
 * no date are reported through `onInvalid`, which must throw.
 */
export function groupByUtcDate(
  records: readonly StoredRecord[],
  onInvalid: (record: StoredRecord, index: number) => never,
): Map<string, StoredRecord[]> {
  const groups = new Map<string, StoredRecord[]>();
  // Every timestamp of one UTC day has that day's date (or none, for all of
  // them), so the string is built once per day instead of once per record.
  const dateOfDay = new Map<number, string | null>();
  records.forEach((record, index) => {
    let date: string | null = null;
    if (Number.isSafeInteger(record.tsMs)) {
      const day = Math.floor(record.tsMs / MS_PER_DAY);
      const cached = dateOfDay.get(day);
      if (cached !== undefined) date = cached;
      else dateOfDay.set(day, (date = utcDateOf(day * MS_PER_DAY)));
    }
    if (date === null) onInvalid(record, index);
    let group = groups.get(date);
    if (!group) {
      group = [];
      groups.set(date, group);
    }
    group.push(record);
  });
  for (const group of groups.values()) group.sort((a, b) => a.lsn - b.lsn);
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** groupByUtcDate for records that must all have a date: the first without one fails the batch. */
export function partitionByUtcDate(records: readonly StoredRecord[]): Map<string, StoredRecord[]> {
  return groupByUtcDate(records, (record, index) => {
    throw Errors.validation('record timestamp has no UTC date in years 0000-9999', {
      index,
      dataId: record.dataId,
      tsMs: record.tsMs,
    });
  });
}
