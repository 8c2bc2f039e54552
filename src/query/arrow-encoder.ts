// Arrow IPC built in JS, for what the engine cannot write itself: the stream
// of an engine without ArrowStream (ClickHouse 18.16 over HTTP) and the schema
// of an empty result. The schema is the one arrowWireSql gives the engine
// (wire-sql.ts), so both paths answer the same stream. apache-arrow takes
// ~150 ms to load, so it is loaded on first use, never at boot.
import type { DataType, Schema } from 'apache-arrow';
import { ArrowStreamJoiner } from '../storage/clickhouse/arrow-stream-joiner.js';
import type { SqlType } from './bound.js';
import { arrowKindOf } from './wire-sql.js';

type Arrow = typeof import('apache-arrow');
let arrowModule: Promise<Arrow> | undefined;
const loadArrow = () => (arrowModule ??= import('apache-arrow'));

export interface ArrowColumn {
  name: string;
  type: SqlType;
}

function schemaOf(arrow: Arrow, columns: readonly ArrowColumn[]): Schema {
  const typeOf = (t: SqlType): DataType => {
    switch (arrowKindOf(t)) {
      case 'Float64':
        return new arrow.Float64();
      case 'Int64':
        return new arrow.Int64();
      case 'Int32':
        return new arrow.Int32();
      case 'Utf8':
        return new arrow.Utf8();
    }
  };
  return new arrow.Schema(columns.map((c) => new arrow.Field(c.name, typeOf(c.type), true)));
}

/**
 * Rows (keyed by the client's column names, as JSONEachRow gives them) in
 * batches → one Arrow IPC stream, a record batch per input batch.
 */
export async function* encodeArrow(columns: readonly ArrowColumn[], batches: AsyncIterable<Record<string, unknown>[]>): AsyncGenerator<Uint8Array> {
  const arrow = await loadArrow();
  const schema = schemaOf(arrow, columns);
  const joiner = new ArrowStreamJoiner();
  for await (const rows of batches) {
    if (rows.length === 0) continue;
    const children = columns.map((c, i) => {
      const type = schema.fields[i]!.type as DataType;
      const kind = arrowKindOf(c.type);
      const values = rows.map((r) => {
        const v = r[c.name];
        if (v === null || v === undefined) return null;
        if (kind === 'Int64') return BigInt(typeof v === 'number' ? Math.trunc(v) : String(v));
        if (kind === 'Float64' || kind === 'Int32') return Number(v);
        return String(v);
      });
      return arrow.vectorFromArray(values as never[], type).data[0]!;
    });
    const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows.length, nullCount: 0, children });
    yield joiner.next(arrow.tableToIPC(new arrow.Table([new arrow.RecordBatch(schema, data)]), 'stream'));
  }
  if (!joiner.started) yield joiner.next(await emptyArrowStream(columns));
  yield joiner.end();
}

/** Schema and end marker only: the stream of a result without rows. */
export async function emptyArrowStream(columns: readonly ArrowColumn[]): Promise<Uint8Array> {
  const arrow = await loadArrow();
  return arrow.tableToIPC(new arrow.Table(schemaOf(arrow, columns)), 'stream');
}
