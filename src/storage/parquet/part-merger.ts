// Compaction's merge where no embedded engine runs (a ClickHouse server is
// configured): parquetjs streams the inputs' rows into one new file, a row
// group at a time both ways, so memory holds one input row group and one
// output row group however large the day is. Promoted columns are derived
// from each row's payload with today's columns, as the applier would.
import { createWriteStream } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SLICE_ROWS } from '../../platform/slices.js';
import { parquetjs } from './parquetjs.js';
import { openPartWriter, type EncodeOptions } from './part-encoder.js';
import { toPartRow } from './part-schema.js';
import type { PartSummary } from './part-summary.js';
import type { ColumnSpec } from './types.js';

interface StoredRow {
  data_id: string;
  ts_ms: bigint | number;
  lsn: bigint | number;
  payload: string;
}

/** Writes the rows of `inputs` (whole parts, in LSN order) as one part at `file`. */
export async function mergePartFiles(file: string, columns: readonly ColumnSpec[], inputs: readonly string[], summary: PartSummary, opts: EncodeOptions): Promise<void> {
  const parquet = await parquetjs();
  const writer = await openPartWriter(createWriteStream(file, { flags: 'wx', mode: 0o644 }), columns, summary, opts);
  try {
    let rows = 0;
    for (const input of inputs) {
      const reader = await parquet.ParquetReader.openFile(input);
      try {
        const cursor = reader.getCursor([['data_id'], ['ts_ms'], ['lsn'], ['payload']]);
        for (let row = (await cursor.next()) as StoredRow | null; row; row = (await cursor.next()) as StoredRow | null) {
          const record = { dataId: String(row.data_id), tsMs: Number(row.ts_ms), lsn: Number(row.lsn), payload: JSON.parse(String(row.payload)) as Record<string, unknown> };
          await writer.appendRow(toPartRow(record, columns));
          // Encoding is synchronous JavaScript: give way to requests between slices.
          if (++rows % SLICE_ROWS === 0) await yieldToEventLoop();
        }
      } finally {
        await reader.close();
      }
    }
  } finally {
    // On a failure the caller removes the temp file, whatever this left in it.
    await writer.close();
  }
}
