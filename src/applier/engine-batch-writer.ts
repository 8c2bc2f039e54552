// How the applier writes a batch when ClickHouse runs in this process: the
// engine reads the WAL entries themselves and derives both sinks' rows, so
// JavaScript never parses a payload or renders a row. Per batch:
//  - each tenant's entries are staged as one JSONEachRow file, one entry a
//    line with its LSN in front: {"lsn":N,"v":1,"tenant":…,"rows":[…]}
//    (the entry's own bytes after the first brace);
//  - the table insert and each UTC day's Parquet part are one
//    INSERT … SELECT over that file, ARRAY JOIN rows. `p` is read as the
//    payload object's own text (input_format_json_read_objects_as_strings),
//    which is exactly JSON.stringify of the payload, since ingest wrote the
//    entry with JSON.stringify; promoted columns are extracted with the same
//    rules promotedValue (table) and promotedColumnValue (Parquet) apply;
//  - rows the applier leaves out (ids already stored or repeated; ids the
//    table already holds after a failed batch) are listed in a skip file by
//    (lsn, row number) and excluded with NOT IN.
// Parquet parts are written on connections of their own (execIsolated),
// beside the table insert on the engine's main one; the sink checks each
// file's row count and time range against what the applier will catalog.
// A day's rows are selected with the same UTC day the catalog and the
// ClickHouse `date` column use (tested against utcDay).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WalBatch } from '../ingest/pending-records.js';
import type { ClickHouseEngine } from '../storage/clickhouse/clickhouse-engine.js';
import { quoteIdentifier, quoteString } from '../storage/clickhouse/sql-literal.js';
import type { TenantTables } from '../storage/clickhouse/tenant-tables.js';
import { partFileSettings, partFileStructure, partitionByUtcDate, summarize, type ParquetSink, type WrittenPart } from '../storage/parquet/index.js';
import type { ColumnSpec, ColumnType, StoredRecord } from '../storage/record-types.js';

/** The rows of one tenant table in a batch, as the applier decided to write them. */
export interface BatchGroup {
  tenant: string;
  table: string;
  columns: ColumnSpec[];
  /** The rows to write, in LSN order (their summaries go to the catalog). */
  records: StoredRecord[];
  /** (entry index, row index) pairs of this table's rows that go nowhere: duplicates. */
  dropped: number[];
  /** (entry index, row index) pairs kept out of the ClickHouse table only: ids it already holds. */
  inTable: number[];
}

/** The columns of a WAL entry line as ClickHouse reads them (see wal-entry.ts; unknown fields are skipped). */
const ENTRY_STRUCTURE = 'lsn UInt64, rows Array(Tuple(t String, id String, ts Int64, p String))';
const SKIP_STRUCTURE = 'lsn UInt64, ri UInt64, table_only UInt8';
const READ_SETTINGS = [
  // `p` is the payload object's JSON text as written, byte for byte.
  'input_format_json_read_objects_as_strings = 1',
  'input_format_skip_unknown_fields = 1',
  // Entries acknowledged before ingest refused lone surrogates must not stall the applier.
  'input_format_json_throw_on_bad_escape_sequence = 0',
  // simdjson refuses a whole document holding an integer beyond 64 bits (JSON.stringify writes 1e20 as
  // 100000000000000000000); RapidJSON reads it as the double JavaScript read, like every other number.
  'allow_simdjson = 0',
].join(', ');
/** The UTC day of a row, as utcDay computes it in JavaScript (ts_ms is validated to 1970..2100). */
const ROW_DAY = "toDate(toDateTime(intDiv(ts, 1000), 'UTC'), 'UTC')";
const MAX_SAFE = '9007199254740991';
// Float64 bounds of Int64: an integral double d is an Int64 when -2^63 <= d < 2^63.
const INT64_LOW = '-9223372036854775808.0';
const INT64_HIGH = '9223372036854775808.0';

/**
 * A promoted column's value from the payload: what promotedValue (ClickHouse
 * table) or promotedColumnValue (Parquet) gives for the parsed field, null
 * for a field that is absent or of another JSON type. `raw` is the field's
 * JSON text ('' when absent), from one parse of the payload per row
 * (JSONExtractKeysAndValuesRaw); a JSON number is read as the double
 * JavaScript read (it wrote the text, shortest round-trip form).
 */
function promotedExpr(col: ColumnSpec, raw: string, sink: 'table' | 'parquet'): string {
  const isNumber = `substring(${raw}, 1, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')`;
  const float = `toFloat64OrNull(${raw})`;
  const byType: Record<ColumnType, string> = {
    String: `if(startsWith(${raw}, '"'), JSONExtractString(${raw}), NULL)`,
    Float64: `if(${isNumber}, ${float}, NULL)`,
    Int64:
      sink === 'table'
        ? `if(${isNumber} AND ${float} = floor(${float}) AND abs(${float}) <= ${MAX_SAFE}, toInt64(${float}), NULL)`
        : `if(${isNumber} AND ${float} = floor(${float}) AND ${float} >= ${INT64_LOW} AND ${float} < ${INT64_HIGH}, toInt64(${float}), NULL)`,
    Bool:
      sink === 'table'
        ? `multiIf(${raw} = 'true', toNullable(toUInt8(1)), ${raw} = 'false', toNullable(toUInt8(0)), NULL)`
        : `multiIf(${raw} = 'true', toNullable(true), ${raw} = 'false', toNullable(false), NULL)`,
  };
  return byType[col.type];
}

export class EngineBatchWriter {
  private nextFile = 0;

  constructor(
    private readonly deps: {
      engine: ClickHouseEngine;
      tables: Pick<TenantTables, 'ensureTable' | 'tableName'>;
      parquet: ParquetSink;
      /** A directory of this instance's own, for the staged entries (emptied on start). */
      stagingDir: string;
    },
  ) {}

  /** Empties the staging directory (files of a batch a crash interrupted). */
  async recover(): Promise<void> {
    await fs.rm(this.deps.stagingDir, { recursive: true, force: true });
    await fs.mkdir(this.deps.stagingDir, { recursive: true });
  }

  /**
   * Writes `groups` (rows of `entries`) to both sinks, each group's table
   * insert beside its Parquet parts; returns each group's parts in order.
   * On a failure nothing is still writing when this rejects.
   */
  async write(
    entries: readonly WalBatch[],
    groups: readonly BatchGroup[],
    timed: <T>(stage: 'clickhouse' | 'parquet', run: () => Promise<T>) => Promise<T>,
  ): Promise<WrittenPart[][]> {
    const files: string[] = [];
    try {
      const staged = await this.stage(entries, groups, files);
      const written: WrittenPart[][] = [];
      for (const [i, g] of groups.entries()) {
        const source = staged[i]!;
        const [table, parts] = await Promise.allSettled([
          timed('clickhouse', async () => {
            await this.deps.tables.ensureTable(g.tenant, g.table, g.columns);
            await this.deps.engine.exec(this.tableInsert(g, source));
          }),
          timed('parquet', () => this.writeParts(g, source)),
        ]);
        if (table.status === 'rejected') throw table.reason;
        if (parts.status === 'rejected') throw parts.reason;
        written.push(parts.value);
      }
      return written;
    } finally {
      await Promise.all(files.map((f) => fs.rm(f, { force: true })));
    }
  }

  /** One entries file per tenant, one skip file per group that leaves rows out; returns each group's sources. */
  private async stage(entries: readonly WalBatch[], groups: readonly BatchGroup[], files: string[]): Promise<Array<{ entries: string; skip?: string }>> {
    const byTenant = new Map<string, string>();
    for (const tenant of new Set(groups.map((g) => g.tenant))) {
      const chunks: Uint8Array[] = [];
      for (const e of entries) {
        if (e.batch.tenant !== tenant) continue;
        // An entry is one line of JSON: JSON.stringify never writes a raw newline.
        if (e.payload[0] !== 0x7b) throw new Error(`WAL entry ${e.lsn} is not a JSON object`);
        chunks.push(Buffer.from(`{"lsn":${e.lsn},`), e.payload.subarray(1), NEWLINE);
      }
      const file = this.stagingFile(files);
      // One buffer, one write: given the chunks, writeFile would make a write (and a threadpool round trip) of each.
      await fs.writeFile(file, Buffer.concat(chunks));
      byTenant.set(tenant, file);
    }
    const sources: Array<{ entries: string; skip?: string }> = [];
    for (const g of groups) {
      const source: { entries: string; skip?: string } = { entries: byTenant.get(g.tenant)! };
      if (g.dropped.length > 0 || g.inTable.length > 0) {
        const lines: string[] = [];
        const add = (pairs: number[], tableOnly: number) => {
          for (let k = 0; k < pairs.length; k += 2) lines.push(`{"lsn":${entries[pairs[k]!]!.lsn},"ri":${pairs[k + 1]! + 1},"table_only":${tableOnly}}`);
        };
        add(g.dropped, 0);
        add(g.inTable, 1);
        source.skip = this.stagingFile(files);
        await fs.writeFile(source.skip, lines.join('\n') + '\n');
      }
      sources.push(source);
    }
    return sources;
  }

  private stagingFile(files: string[]): string {
    const file = path.join(this.deps.stagingDir, `batch-${process.pid}-${this.nextFile++}.jsonl`);
    files.push(file);
    return file;
  }

  /**
   * FROM of a group's rows for one sink (the table leaves out table_only
   * skips too): lsn, ri (row number in its entry), id, ts, p (payload text)
   * and, for each promoted column k, raw_k (its JSON text, '' when absent).
   * Aliases live inside this subquery, whose only other names are the staged
   * file's, so no promoted column's name can meet them.
   */
  private rowsOf(g: BatchGroup, source: { entries: string; skip?: string }, sink: 'table' | 'parquet', where = ''): string {
    let filter = `r.t = ${quoteString(g.table)}`;
    if (source.skip) {
      filter +=
        ` AND (lsn, ri) NOT IN (SELECT lsn, ri FROM file(${quoteString(source.skip)}, 'JSONEachRow', ${quoteString(SKIP_STRUCTURE)})` +
        `${sink === 'parquet' ? ' WHERE table_only = 0' : ''})`;
    }
    const raws = g.columns.map((c, k) => `, arrayFirst(x -> x.1 = ${quoteString(c.name)}, kv).2 AS raw_${k}`).join('');
    return (
      `FROM (SELECT lsn, ri, id, ts, p${raws} FROM (` +
      `SELECT lsn, ri, r.id AS id, r.ts AS ts, r.p AS p, JSONExtractKeysAndValuesRaw(r.p) AS kv ` +
      `FROM file(${quoteString(source.entries)}, 'JSONEachRow', ${quoteString(ENTRY_STRUCTURE)}) ` +
      `ARRAY JOIN rows AS r, arrayEnumerate(rows) AS ri WHERE ${filter}${where}))`
    );
  }

  /** The SELECT list of a sink's rows: the fixed columns, then each promoted column by its rules. */
  private selectList(g: BatchGroup, sink: 'table' | 'parquet'): string {
    const fixed = sink === 'table' ? `id, ts, ${ROW_DAY}, lsn, p` : 'id, ts, lsn, p';
    return fixed + g.columns.map((c, k) => `, ${promotedExpr(c, `raw_${k}`, sink)}`).join('');
  }

  private tableInsert(g: BatchGroup, source: { entries: string; skip?: string }): string {
    const columns = ['data_id', 'ts_ms', 'date', 'lsn', 'payload', ...g.columns.map((c) => c.name)].map(quoteIdentifier).join(', ');
    return `INSERT INTO ${this.deps.tables.tableName(g.tenant, g.table)} (${columns}) SELECT ${this.selectList(g, 'table')} ${this.rowsOf(g, source, 'table')} SETTINGS ${READ_SETTINGS}`;
  }

  /** One part per UTC day of the group's rows, each selected by its day and sorted by LSN. */
  private writeParts(g: BatchGroup, source: { entries: string; skip?: string }): Promise<WrittenPart[]> {
    const structure = partFileStructure(g.columns);
    const run = (sql: string) => (this.deps.engine.execIsolated ? this.deps.engine.execIsolated(sql) : this.deps.engine.exec(sql));
    const parts = [...partitionByUtcDate(g.records)].map(([date, records]) => ({
      date,
      summary: summarize(records),
      write: (file: string, opts: { rowGroupRows: number }) =>
        run(
          `INSERT INTO FUNCTION file(${quoteString(file)}, 'Parquet', ${quoteString(structure)}) ` +
            `SELECT ${this.selectList(g, 'parquet')} ${this.rowsOf(g, source, 'parquet', ` AND ${ROW_DAY} = toDate(${quoteString(date)})`)} ` +
            `ORDER BY lsn, ri SETTINGS ${READ_SETTINGS}, ${partFileSettings(opts)}`,
        ),
    }));
    return this.deps.parquet.writePartsWith(g.tenant, g.table, g.columns, parts);
  }
}

const NEWLINE = Buffer.from('\n');
