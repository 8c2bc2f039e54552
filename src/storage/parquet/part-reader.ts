// Reads a part's records back (data_id, ts_ms, lsn, payload) for compaction.
// Promoted columns are not read: the writer derives them from the payload.
import path from 'node:path';
import { parquetjs } from './parquetjs.js';
import { Errors } from '../../platform/errors.js';
import type { StoredRecord } from './types.js';

interface PartRow {
  data_id: string;
  ts_ms: bigint | number;
  lsn: bigint | number;
  payload: string;
}

export async function readPartRecords(rootDir: string, relativePath: string): Promise<StoredRecord[]> {
  const file = path.resolve(rootDir, relativePath);
  if (!file.startsWith(path.resolve(rootDir) + path.sep)) throw Errors.validation('part path escapes the Parquet root');
  const parquet = await parquetjs();
  let reader: Awaited<ReturnType<typeof parquet.ParquetReader.openFile>>;
  try {
    reader = await parquet.ParquetReader.openFile(file);
  } catch (err) {
    throw Errors.storageFailure(`cannot open Parquet part ${relativePath}`, err);
  }
  try {
    const cursor = reader.getCursor([['data_id'], ['ts_ms'], ['lsn'], ['payload']]);
    const out: StoredRecord[] = [];
    for (let row = (await cursor.next()) as PartRow | null; row; row = (await cursor.next()) as PartRow | null) {
      out.push({ dataId: String(row.data_id), tsMs: Number(row.ts_ms), lsn: Number(row.lsn), payload: JSON.parse(String(row.payload)) as Record<string, unknown> });
    }
    return out;
  } finally {
    await reader.close();
  }
}
