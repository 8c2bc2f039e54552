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
import { mergePartFiles } from './part-merger.js';
import type { PartSummary } from './part-summary.js';
import type { ColumnSpec, StoredRecord } from './types.js';

export interface PartWriter {
  /** Writes `records` (non-empty, sorted by LSN) as one Parquet file at `file`, which must not exist yet. Durability is the caller's. */
  write(file: string, columns: readonly ColumnSpec[], records: readonly StoredRecord[], opts: EncodeOptions): Promise<PartSummary>;
  /**
   * Writes the rows of whole part files (`inputs`: absolute paths of one
   * day's parts, their LSN ranges in order) as one file at `file`, in LSN
   * order, with `columns` (null where an input predates one), within a
   * bounded amount of memory. `summary` describes the result.
   */
  merge(file: string, columns: readonly ColumnSpec[], inputs: readonly string[], summary: PartSummary, opts: EncodeOptions): Promise<void>;
  close(): Promise<void>;
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

  merge(file: string, columns: readonly ColumnSpec[], inputs: readonly string[], summary: PartSummary, opts: EncodeOptions): Promise<void> {
    return mergePartFiles(file, columns, inputs, summary, opts);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
