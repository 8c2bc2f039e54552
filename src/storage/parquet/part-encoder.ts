// Encodes one partition's records into a complete Parquet file in memory.
// A batch is bounded by the applier, and building the bytes first lets the
// file be written with one write + one fsync instead of a stream whose
// durability we would have to track chunk by chunk.

import { Writable } from 'node:stream';
import type { WriteStream } from 'node:fs';
import { parquetjs } from './parquetjs.js';
import { partSchemaDefinition, toPartRow } from './part-schema.js';
import { summarize, type PartSummary } from './part-summary.js';
import type { ColumnSpec, StoredRecord } from './types.js';

/** Key-value footer metadata: what listParts needs without scanning columns. */
export const FOOTER_KEYS = {
  format: 'scp.part_format',
  firstLsn: 'scp.first_lsn',
  lastLsn: 'scp.last_lsn',
  minTsMs: 'scp.min_ts_ms',
  maxTsMs: 'scp.max_ts_ms',
  columns: 'scp.columns',
} as const;
export const PART_FORMAT_VERSION = '1';

export interface EncodeOptions {
  rowGroupRows: number;
}

export interface EncodedPart extends PartSummary {
  bytes: Buffer;
}

/** `records` must be non-empty and sorted by LSN. */
export async function encodePart(
  columns: readonly ColumnSpec[],
  records: readonly StoredRecord[],
  opts: EncodeOptions,
): Promise<EncodedPart> {
  const summary = summarize(records);

  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  // The library types its output as an fs.WriteStream but only calls write() and end().
  const writer = await openPartWriter(sink as unknown as WriteStream, columns, summary, opts);
  for (const record of records) await writer.appendRow(toPartRow(record, columns));
  await writer.close();

  return {
    bytes: Buffer.concat(chunks),
    ...summary,
  };
}

/**
 * A parquetjs writer of one part onto `output`, with our layout and footer
 * entries; rows are buffered one row group at a time.
 */
export async function openPartWriter(output: WriteStream, columns: readonly ColumnSpec[], summary: PartSummary, opts: EncodeOptions) {
  const parquet = await parquetjs();
  const writer = await parquet.ParquetWriter.openStream(new parquet.ParquetSchema(partSchemaDefinition(columns)), output, {
    rowGroupSize: opts.rowGroupRows,
    // Data page v1: the most widely readable layout (old Arrow/Spark readers
    // mis-handle v2 pages); ClickHouse reads both.
    useDataPageV2: false,
    // The library's page index gives every page of a multi-page column chunk the
    // same offset, and ClickHouse refuses such files ("Invalid offset index") once
    // a column spans more than one page (a few thousand rows). Readers do fine
    // without the index: row-group statistics still allow pruning.
    pageIndex: false,
  });
  // The library keeps bloom filters in a plain object and probes it with
  // `column in filters`, so a promoted column named "constructor" or
  // "toString" would be taken for a filter. We use no bloom filters: a
  // prototype-free empty map makes every probe miss.
  if (writer.envelopeWriter) writer.envelopeWriter.bloomFilters = Object.create(null) as Record<string, never>;
  writer.setMetadata(FOOTER_KEYS.format, PART_FORMAT_VERSION);
  writer.setMetadata(FOOTER_KEYS.firstLsn, String(summary.firstLsn));
  writer.setMetadata(FOOTER_KEYS.lastLsn, String(summary.lastLsn));
  writer.setMetadata(FOOTER_KEYS.minTsMs, String(summary.minTsMs));
  writer.setMetadata(FOOTER_KEYS.maxTsMs, String(summary.maxTsMs));
  writer.setMetadata(FOOTER_KEYS.columns, JSON.stringify(columns.map((c) => ({ name: c.name, type: c.type }))));
  return writer;
}
