// Writes an open query to the HTTP response as JSON (one document), NDJSON
// (a row per line, streamed) or Arrow IPC stream format (record batches,
// streamed). Streaming respects backpressure; a client that goes away stops the
// query in the engine.
import type { Request, Response } from 'express';
import { Field, Float64, Int32, Int64, RecordBatch, RecordBatchStreamWriter, Schema, Struct, Utf8, makeData, vectorFromArray, type DataType } from 'apache-arrow';
import { Errors } from '../platform/errors.js';
import type { SqlType } from './bound.js';
import type { OpenQuery } from './executor.js';

export type ResultFormat = 'json' | 'ndjson' | 'arrow';

export const ARROW_STREAM_TYPE = 'application/vnd.apache.arrow.stream';
const ARROW_BATCH = 65_536;
const FIRST_ARROW_BATCH = 4096;

export function formatOf(req: Request, explicit: ResultFormat | undefined): ResultFormat {
  if (explicit) return explicit;
  const accept = req.headers.accept ?? '';
  if (accept.includes(ARROW_STREAM_TYPE)) return 'arrow';
  if (accept.includes('application/x-ndjson')) return 'ndjson';
  return 'json';
}

/** Writes with backpressure, counting the bytes on the query (the query log's `bytes`). */
async function write(res: Response, chunk: string | Uint8Array, q: OpenQuery): Promise<void> {
  q.handle.addBytes(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength);
  if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
}

export async function writeResult(req: Request, res: Response, q: OpenQuery, format: ResultFormat, maxJsonRows: number): Promise<unknown> {
  res.setHeader('X-Query-Id', q.id);
  // A client that disconnects mid-stream cancels the query (the engine stops).
  const onClose = () => {
    if (!res.writableFinished) q.handle.abandon();
  };
  res.once('close', onClose);
  const t0 = performance.now();
  if (format === 'json') {
    const rows: Record<string, unknown>[] = [];
    for await (const b of q.batches) {
      for (const r of b) rows.push(r);
      if (rows.length > maxJsonRows) {
        q.handle.abandon();
        throw Errors.validation(`the result has more than ${maxJsonRows} rows; add LIMIT or ask for NDJSON/Arrow with the Accept header`, { maxJsonRows });
      }
    }
    return {
      queryId: q.id,
      columns: q.columns,
      rows,
      rowCount: rows.length,
      elapsedMs: Math.round((performance.now() - t0) * 100) / 100,
      plan: { estimatedRows: Math.round(q.planned.physical.estRows), partitions: q.planned.physical.partitions, cacheHit: q.planned.cacheHit },
    };
  }
  const it = q.batches[Symbol.asyncIterator]();
  // The first batch is awaited before the headers go out, so a failing query still gets a proper error status.
  const first = await it.next();
  res.status(200);
  if (format === 'ndjson') {
    res.type('application/x-ndjson');
    for (let r = first; !r.done; r = await it.next()) {
      let text = '';
      for (const row of r.value) text += JSON.stringify(row) + '\n';
      await write(res, text, q);
    }
    res.end();
    return undefined;
  }
  res.setHeader('Content-Type', ARROW_STREAM_TYPE);
  const schema = new Schema(q.columns.map((c) => new Field(c.name, arrowType(c.type), true)));
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  // The writer yields many small pieces (metadata, each buffer); one write per ~64 KiB.
  const pipe = (async () => {
    let pending: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of writer) {
      pending.push(chunk);
      size += chunk.byteLength;
      if (size >= 64 * 1024) {
        await write(res, Buffer.concat(pending), q);
        pending = [];
        size = 0;
      }
    }
    if (size > 0) await write(res, Buffer.concat(pending), q);
  })();
  let batch: Record<string, unknown>[] = [];
  let sent = 0;
  const flush = async () => {
    writer.write(toBatch(schema, q.columns, batch));
    batch = [];
    sent++;
    // Let the pipe flush before building the next batch.
    await new Promise((resolve) => setImmediate(resolve));
  };
  for (let r = first; !r.done; r = await it.next()) {
    for (const row of r.value) batch.push(row);
    // A small first batch gets the first rows out fast; later ones are large for throughput.
    if (batch.length >= (sent === 0 ? FIRST_ARROW_BATCH : ARROW_BATCH)) await flush();
  }
  if (batch.length || sent === 0) await flush();
  writer.close();
  await pipe;
  res.end();
  return undefined;
}

function arrowType(t: SqlType): DataType {
  switch (t) {
    case 'Float64':
      return new Float64();
    case 'Int64':
    case 'UInt64':
      return new Int64();
    case 'UInt8':
    case 'Bool':
      return new Int32();
    default:
      return new Utf8();
  }
}

function toBatch(schema: Schema, columns: OpenQuery['columns'], rows: Record<string, unknown>[]): RecordBatch {
  const children = columns.map((c, i) => {
    const type = schema.fields[i]!.type as DataType;
    const values = rows.map((r) => {
      const v = r[c.name];
      if (v === null || v === undefined) return null;
      if (type instanceof Int64) return BigInt(v as string | number);
      if (type instanceof Float64 || type instanceof Int32) return Number(v);
      return String(v);
    });
    return vectorFromArray(values as never[], type).data[0]!;
  });
  const data = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}
