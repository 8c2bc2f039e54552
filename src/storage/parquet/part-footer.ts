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

export async function readPartFooter(file: string): Promise<PartFooter> {
  const parquet = await parquetjs();
  let reader: Awaited<ReturnType<typeof parquet.ParquetReader.openFile>>;
  try {
    reader = await parquet.ParquetReader.openFile(file);
  } catch (err) {
    throw Errors.storageFailure(`cannot read the footer of Parquet part ${file}`, err);
  }
  try {
    const rows = Number(reader.getRowCount());
    // The library's getMetadata() throws on a footer without key/value entries.
    if (!reader.metadata?.key_value_metadata) return { rows, ...tsRangeFromStatistics(reader.metadata, file) };
    const meta = reader.getMetadata();
    return {
      rows,
      minTsMs: footerInt(meta, FOOTER_KEYS.minTsMs, file),
      maxTsMs: footerInt(meta, FOOTER_KEYS.maxTsMs, file),
    };
  } finally {
    await reader.close();
  }
}

interface FileMetadataLike {
  row_groups?: Array<{ columns?: Array<{ meta_data?: { path_in_schema?: string[]; statistics?: { min_value?: unknown; max_value?: unknown } } }> }>;
}

function tsRangeFromStatistics(metadata: unknown, file: string): { minTsMs: number; maxTsMs: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const group of (metadata as FileMetadataLike | null)?.row_groups ?? []) {
    const stats = group.columns?.find((c) => c.meta_data?.path_in_schema?.[0] === 'ts_ms')?.meta_data?.statistics;
    const lo = Number(stats?.min_value);
    const hi = Number(stats?.max_value);
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) {
      throw Errors.storageFailure(`Parquet part ${file} has neither our footer entries nor ts_ms statistics`);
    }
    min = Math.min(min, lo);
    max = Math.max(max, hi);
  }
  if (min === Infinity) throw Errors.storageFailure(`Parquet part ${file} has no row groups`);
  return { minTsMs: min, maxTsMs: max };
}
