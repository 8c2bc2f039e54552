// Reads what listParts reports from a part's footer, without scanning data:
// our key/value entries when the parquetjs writer made the part, otherwise
// (the embedded ClickHouse wrote it) the row count and the ts_ms column's
// min/max statistics of every row group.

import { parquetjs } from './parquetjs.js';
import { Errors } from '../../platform/errors.js';
import { FOOTER_KEYS } from './part-encoder.js';

export interface PartFooter {
  rows: number;
  minTsMs: number;
  maxTsMs: number;
}

function footerInt(meta: Record<string, unknown>, key: string, file: string): number {
  const raw = meta[key];
  const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw Errors.storageFailure(`Parquet part ${file} has no valid '${key}' in its footer`);
  return n;
}

/**
 * Reads the footer only (thrift FileMetaData), not the schema: parquetjs
 * builds its schema objects with `in` checks, so a promoted column named
 * e.g. "__proto__" would break a full reader on a file it can describe.
 */
export async function readPartFooter(file: string): Promise<PartFooter> {
  const parquet = await parquetjs();
  let metadata: FileMetadataLike;
  try {
    const envelope = await parquet.ParquetEnvelopeReader.openFile(file);
    try {
      await envelope.readHeader();
      metadata = (await envelope.readFooter()) as unknown as FileMetadataLike;
    } finally {
      await envelope.close();
    }
  } catch (err) {
    throw Errors.storageFailure(`cannot read the footer of Parquet part ${file}`, err);
  }
  const rows = Number(metadata.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0) throw Errors.storageFailure(`Parquet part ${file} has no valid row count`);
  const entries = metadata.key_value_metadata;
  if (!entries?.length) return { rows, ...tsRangeFromStatistics(metadata, file) };
  const meta = Object.fromEntries(entries.map((e) => [e.key, e.value]));
  return {
    rows,
    minTsMs: footerInt(meta, FOOTER_KEYS.minTsMs, file),
    maxTsMs: footerInt(meta, FOOTER_KEYS.maxTsMs, file),
  };
}

/** The raw footer, as thrift decodes it: Int64 statistics are 8 little-endian bytes. */
interface FileMetadataLike {
  num_rows?: unknown;
  key_value_metadata?: Array<{ key: string; value: string }> | null;
  row_groups?: Array<{ columns?: Array<{ meta_data?: { path_in_schema?: string[]; statistics?: { min_value?: Buffer | null; max_value?: Buffer | null } } }> }>;
}

function int64Of(raw: Buffer | null | undefined): number {
  return raw?.length === 8 ? Number(raw.readBigInt64LE(0)) : Number.NaN;
}

function tsRangeFromStatistics(metadata: FileMetadataLike, file: string): { minTsMs: number; maxTsMs: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const group of metadata.row_groups ?? []) {
    const stats = group.columns?.find((c) => c.meta_data?.path_in_schema?.[0] === 'ts_ms')?.meta_data?.statistics;
    const lo = int64Of(stats?.min_value);
    const hi = int64Of(stats?.max_value);
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) {
      throw Errors.storageFailure(`Parquet part ${file} has neither our footer entries nor ts_ms statistics`);
    }
    min = Math.min(min, lo);
    max = Math.max(max, hi);
  }
  if (min === Infinity) throw Errors.storageFailure(`Parquet part ${file} has no row groups`);
  return { minTsMs: min, maxTsMs: max };
}
