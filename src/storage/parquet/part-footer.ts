// Reads what listParts reports from a part's footer, without scanning data.

import parquet from '@dsnp/parquetjs';
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
  let reader: Awaited<ReturnType<typeof parquet.ParquetReader.openFile>>;
  try {
    reader = await parquet.ParquetReader.openFile(file);
  } catch (err) {
    throw Errors.storageFailure(`cannot read the footer of Parquet part ${file}`, err);
  }
  try {
    const meta = reader.getMetadata();
    return {
      rows: Number(reader.getRowCount()),
      minTsMs: footerInt(meta, FOOTER_KEYS.minTsMs, file),
      maxTsMs: footerInt(meta, FOOTER_KEYS.maxTsMs, file),
    };
  } finally {
    await reader.close();
  }
}
