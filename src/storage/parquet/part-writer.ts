// How a part's file comes into being. The sink asks a PartWriter to write a
// complete Parquet file at a temp path of its choosing; the sink then fsyncs,
// renames and catalogs it. Two writers exist:
//  - EnginePartWriter (engine-part-writer.ts): the embedded ClickHouse writes
//    the file with its native Parquet encoder. Used whenever the engine is
//    embedded: it encodes several times faster than JavaScript and off the
//    event loop.
//  - PoolPartWriter (below): parquetjs on worker threads, for when no embedded
//    engine runs in this process (a ClickHouse server is configured).
import fs from 'node:fs/promises';
import { EncodePool } from './encode-pool.js';
import type { EncodeOptions } from './part-encoder.js';
import type { ColumnSpec, StoredRecord } from './types.js';

/** What the catalog needs to know about a written part. */
export interface PartSummary {
  rows: number;
  firstLsn: number;
  lastLsn: number;
  minTsMs: number;
  maxTsMs: number;
}

export interface PartWriter {
  /** Writes `records` (non-empty, sorted by LSN) as one Parquet file at `file`, which must not exist yet. Durability is the caller's. */
  write(file: string, columns: readonly ColumnSpec[], records: readonly StoredRecord[], opts: EncodeOptions): Promise<PartSummary>;
  close(): Promise<void>;
}

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

export class PoolPartWriter implements PartWriter {
  readonly pool: EncodePool;

  constructor(workers: number) {
    this.pool = new EncodePool(workers);
  }

  async write(file: string, columns: readonly ColumnSpec[], records: readonly StoredRecord[], opts: EncodeOptions): Promise<PartSummary> {
    const { bytes, ...summary } = await this.pool.encode(columns, records, opts);
    await fs.writeFile(file, bytes, { flag: 'wx', mode: 0o644 });
    return summary;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
