// The file name is the source of truth for a part's LSN range: recovery
// (removePartsAfter) must work from names alone, without opening files that a
// crash may have left in any state. Zero-padding makes lexical order = LSN order.

const LSN_DIGITS = 20;
const PART_NAME_RE = /^part-(\d{20})-(\d{20})\.parquet$/;
// Temp files start with '.' so nothing that lists parts can mistake them for one.
const TEMP_NAME_RE = /^\.part-\d{20}-\d{20}\.parquet\.tmp-[A-Za-z0-9]+$/;
const DATE_DIR_RE = /^date=(\d{4}-\d{2}-\d{2})$/;

export interface PartRange {
  firstLsn: number;
  lastLsn: number;
}

export function isValidLsn(lsn: number): boolean {
  return Number.isSafeInteger(lsn) && lsn >= 0;
}

function padLsn(lsn: number): string {
  if (!isValidLsn(lsn)) throw new RangeError(`LSN must be a non-negative safe integer, got ${lsn}`);
  return String(lsn).padStart(LSN_DIGITS, '0');
}

export function formatPartName(range: PartRange): string {
  if (range.firstLsn > range.lastLsn) {
    throw new RangeError(`part range is inverted: ${range.firstLsn} > ${range.lastLsn}`);
  }
  return `part-${padLsn(range.firstLsn)}-${padLsn(range.lastLsn)}.parquet`;
}

/** Returns null for anything that is not exactly a part name this sink writes. */
export function parsePartName(name: string): PartRange | null {
  const m = PART_NAME_RE.exec(name);
  if (!m) return null;
  const firstLsn = Number(m[1]);
  const lastLsn = Number(m[2]);
  // 20 digits can exceed 2^53; such a name cannot come from us, so refuse it
  // rather than round it to a neighbouring LSN.
  if (!isValidLsn(firstLsn) || !isValidLsn(lastLsn) || firstLsn > lastLsn) return null;
  return { firstLsn, lastLsn };
}

export function formatTempName(partName: string, random: string): string {
  return `.${partName}.tmp-${random}`;
}

export function isTempName(name: string): boolean {
  return TEMP_NAME_RE.test(name);
}

export function formatDateDir(date: string): string {
  return `date=${date}`;
}

/** Returns the YYYY-MM-DD of a `date=` directory name, or null. */
export function parseDateDir(name: string): string | null {
  const m = DATE_DIR_RE.exec(name);
  return m?.[1] ?? null;
}
