// Renders a batch's new rows as the text both sinks read: JSONEachRow lines
// for the ClickHouse table (tableRowLine) and for each UTC date's Parquet part
// (partRowLine). It starts from the WAL payloads, not from the main thread's
// decoded rows, so that it can run on the rendering worker (row-render-worker.ts)
// with nothing but bytes to copy there; the payload JSON is rendered once per
// row for both sinks.
import { decodeEncodedBatch } from '../ingest/wal-entry.js';
import { tableRowLine } from '../storage/clickhouse/tenant-table-schema.js';
import { partitionByUtcDate, partRowLine, summarize, type RenderedPart } from '../storage/parquet/index.js';
import type { ColumnSpec, StoredRecord } from '../storage/record-types.js';

/** The WAL payloads of a batch's entries packed into one buffer: entry i is bytes[offsets[i], offsets[i+1]). */
export interface PackedEntries {
  bytes: Uint8Array;
  offsets: number[];
  lsns: number[];
}

export interface GroupToRender {
  tenant: string;
  table: string;
  columns: ColumnSpec[];
  /** (entry index, row index) pairs of the rows to write, in LSN order. */
  rows: Int32Array;
  /** data_ids the ClickHouse table already holds (after a failed batch): left out of its lines, kept in Parquet's. */
  inTable: string[];
}

export interface RenderedGroup {
  tableLines: string;
  parts: RenderedPart[];
}

export function packEntries(entries: ReadonlyArray<{ lsn: number; payload: Uint8Array }>): PackedEntries {
  const offsets = [0];
  for (const e of entries) offsets.push(offsets[offsets.length - 1]! + e.payload.byteLength);
  // A fresh buffer of exactly these bytes: a pooled Buffer would carry its whole pool across.
  const bytes = new Uint8Array(offsets[offsets.length - 1]!);
  entries.forEach((e, i) => bytes.set(e.payload, offsets[i]));
  return { bytes, offsets, lsns: entries.map((e) => e.lsn) };
}

export function renderGroups(entries: PackedEntries, groups: readonly GroupToRender[]): RenderedGroup[] {
  const decoded = new Map<number, ReturnType<typeof decodeEncodedBatch>>();
  const entry = (i: number) => {
    let batch = decoded.get(i);
    if (!batch) {
      const { bytes, offsets } = entries;
      batch = decodeEncodedBatch(Buffer.from(bytes.buffer, bytes.byteOffset + offsets[i]!, offsets[i + 1]! - offsets[i]!));
      decoded.set(i, batch);
    }
    return batch;
  };

  return groups.map((g) => {
    const inTable = new Set(g.inTable);
    // Each record carries its Parquet line, rendered in the same pass as its table line.
    const records: Array<StoredRecord & { partLine: string }> = [];
    const tableLines: string[] = [];
    for (let k = 0; k < g.rows.length; k += 2) {
      const e = g.rows[k]!;
      const batch = entry(e);
      const row = batch.rows[g.rows[k + 1]!];
      if (!row || batch.tenant !== g.tenant || row.t !== g.table) throw new Error(`row ${g.rows[k + 1]} of WAL entry ${entries.lsns[e]} is not in ${g.tenant}/${g.table}`);
      const record = { dataId: row.id, tsMs: row.ts, lsn: entries.lsns[e]!, payload: row.p, partLine: '' };
      const json = JSON.stringify(row.p);
      record.partLine = partRowLine(record, g.columns, json);
      records.push(record);
      if (!inTable.has(record.dataId)) tableLines.push(tableRowLine(record, g.columns, json));
    }
    const parts = [...partitionByUtcDate(records)].map(([date, group]) => ({
      date,
      summary: summarize(group),
      lines: (group as typeof records).map((r) => r.partLine).join('\n'),
    }));
    return { tableLines: tableLines.join('\n'), parts };
  });
}
