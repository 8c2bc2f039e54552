// Parts written by the embedded ClickHouse: the rows go in as JSONEachRow
// after FORMAT (raw input, not part of the parsed query, so neither escaped nor
// bounded by max_query_size) and ClickHouse's native encoder writes the file.
// The columns, their Parquet types and their values are the ones parquetjs
// writes (part-schema.ts), so readers cannot tell the two writers apart, with
// one exception: ClickHouse cannot add our key/value footer, so such parts are
// described from their row count and ts_ms statistics (part-footer.ts).
import path from 'node:path';
import { Errors } from '../../platform/errors.js';
import { mapInSlices } from '../../platform/slices.js';
import { setRowField } from '../row-field.js';
import { quoteIdentifier, quoteString } from '../clickhouse/sql-literal.js';
import type { EncodeOptions } from './part-encoder.js';
import { assertColumns, promotedColumnValue } from './part-schema.js';
import { summarize, type PartSummary } from './part-summary.js';
import type { PartWriter } from './part-writer.js';
import type { ColumnSpec, StoredRecord } from './types.js';

/** The one thing needed of the engine: run a statement. */
export interface StatementRunner {
  exec(sql: string): Promise<void>;
}

// SNAPPY like the parquetjs writer (readable everywhere, cheap); no bloom
// filters (nothing probes them and they cost CPU per value).
const WRITE_SETTINGS = "output_format_parquet_compression_method = 'snappy', output_format_parquet_write_bloom_filter = 0";

/**
 * The `structure` of file(…, 'Parquet', structure) for a part with these
 * promoted columns: the columns, in order, that parquetjs writes
 * (part-schema.ts). A ColumnType is spelled as the ClickHouse type it reads
 * into (Bool as Parquet BOOLEAN).
 */
export function partFileStructure(columns: readonly ColumnSpec[]): string {
  assertColumns(columns);
  return ['data_id String', 'ts_ms Int64', 'lsn Int64', 'payload String', ...columns.map((c) => `${quoteIdentifier(c.name)} Nullable(${c.type})`)].join(', ');
}

/** The SETTINGS of an INSERT INTO FUNCTION file(…, 'Parquet') that writes a part. */
export function partFileSettings(opts: EncodeOptions): string {
  return `${WRITE_SETTINGS}, output_format_parquet_row_group_size = ${Math.trunc(opts.rowGroupRows)}`;
}

export class EnginePartWriter implements PartWriter {
  constructor(private readonly engine: StatementRunner) {}

  async write(file: string, columns: readonly ColumnSpec[], records: readonly StoredRecord[], opts: EncodeOptions): Promise<PartSummary> {
    const summary = summarize(records);
    const lines = (await mapInSlices(records, (r) => partRowLine(r, columns))).join('\n');
    // The rows go in after FORMAT: raw input, neither parsed as SQL nor bounded by max_query_size.
    await this.engine.exec(
      `INSERT INTO FUNCTION file(${quoteString(file)}, 'Parquet', ${quoteString(partFileStructure(columns))}) ` +
        `SETTINGS ${partFileSettings(opts)} FORMAT JSONEachRow\n${lines}\n`,
    );
    return summary;
  }

  /**
   * ClickHouse reads the inputs and writes the merged file itself: one
   * thread at the lowest CPU priority (nice 19, where the process may set it:
   * compaction gets the cycles ingest and the applier leave), and the sort by
   * LSN spills to disk past MERGE_SORT_BYTES instead of holding a day in
   * memory. A column an older input lacks reads as null.
   */
  async merge(file: string, columns: readonly ColumnSpec[], inputs: readonly string[], _summary: PartSummary, opts: EncodeOptions): Promise<void> {
    const dir = path.dirname(inputs[0]!);
    const names = inputs.map((f) => {
      if (path.dirname(f) !== dir || !PART_FILE_NAME.test(path.basename(f))) throw Errors.validation('merge inputs must be part files of one directory', { file: f });
      return path.basename(f);
    });
    const source = names.length === 1 ? inputs[0]! : `${dir}/{${names.join(',')}}`;
    const structure = quoteString(partFileStructure(columns));
    await this.engine.exec(
      `INSERT INTO FUNCTION file(${quoteString(file)}, 'Parquet', ${structure}) ` +
        `SELECT * FROM file(${quoteString(source)}, 'Parquet', ${structure}) ORDER BY lsn ` +
        `SETTINGS ${partFileSettings(opts)}, use_hive_partitioning = 0, input_format_parquet_allow_missing_columns = 1, ` +
        // Reading, sorting and encoding all on the query's one thread, so that its priority covers all of it.
        `max_threads = 1, max_parsing_threads = 1, max_download_threads = 1, output_format_parquet_parallel_encoding = 0, ` +
        `os_thread_priority = 19, max_bytes_before_external_sort = ${MERGE_SORT_BYTES}`,
    );
  }

  async close(): Promise<void> {}
}

/** Memory a merge's sort may take before it spills to disk. */
const MERGE_SORT_BYTES = 64 * 1024 * 1024;
// What a part's file name can hold (part-name.ts): nothing a glob would read as a pattern.
const PART_FILE_NAME = /^[A-Za-z0-9._=-]+$/;

/**
 * One JSONEachRow line in the part's layout; promoted values follow
 * promotedValue (wrong type → null). `payloadJson` is the payload's JSON text
 * when the caller already has it.
 */
export function partRowLine(record: StoredRecord, columns: readonly ColumnSpec[], payloadJson = JSON.stringify(record.payload)): string {
  const row: Record<string, unknown> = { data_id: record.dataId, ts_ms: record.tsMs, lsn: record.lsn, payload: payloadJson };
  for (const col of columns) {
    const value = promotedColumnValue(record, col);
    // Int64 is checked as BigInt; past 2^53 it goes as exact decimal text, which ClickHouse reads into Int64.
    setRowField(row, col.name, typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value);
  }
  return JSON.stringify(row);
}
