// Writes an open query to the HTTP response: JSON (one document), NDJSON (a
// row per line) or an Arrow IPC stream. Rows are the engine's own bytes
// (executor.ts, wire-sql.ts): JSON splices them into the answer, streams pass
// its blocks through. Streams honour backpressure: the next block is asked of
// the engine while the socket drains the current one, never more, so a slow
// reader slows the engine instead of filling memory. A client that goes away
// cancels the query (execute-handler.ts), which stops the engine.
import type { Request, Response } from 'express';
import { Errors } from '../platform/errors.js';
import type { OpenQuery, WireFormat } from './executor.js';
import { FRESHNESS_HEADER, freshnessHeader } from './freshness.js';

export type ResultFormat = 'json' | WireFormat;

export const ARROW_STREAM_TYPE = 'application/vnd.apache.arrow.stream';
export const NDJSON_TYPE = 'application/x-ndjson';

export function formatOf(req: Request, explicit: ResultFormat | undefined): ResultFormat {
  if (explicit) return explicit;
  const accept = req.headers.accept ?? '';
  if (accept.includes(ARROW_STREAM_TYPE)) return 'arrow';
  if (accept.includes(NDJSON_TYPE)) return 'ndjson';
  return 'json';
}

export interface WriteOptions {
  maxJsonRows: number;
  /** Aborts when the client has gone away. */
  clientGone: AbortSignal;
  /** When the handler started (hrtime): the time before it is auth and body parsing. */
  handlerStart: bigint;
}

export async function writeResult(req: Request, res: Response, q: OpenQuery, format: ResultFormat, opts: WriteOptions): Promise<undefined> {
  res.setHeader('X-Query-Id', q.id);
  res.setHeader(FRESHNESS_HEADER, freshnessHeader(q.freshness));
  const t0 = performance.now();
  if (format === 'json') {
    const { text, count } = await q.jsonRows(opts.maxJsonRows);
    const te = performance.now();
    const head = Buffer.from(`{"queryId":${JSON.stringify(q.id)},"columns":${JSON.stringify(q.columns)},"rows":[`);
    const tail = Buffer.from(
      `],"rowCount":${count},"elapsedMs":${round(performance.now() - t0)},` +
        `"plan":${JSON.stringify({ estimatedRows: Math.round(q.planned.physical.estRows), partitions: q.planned.physical.partitions, cacheHit: q.planned.cacheHit })},` +
        `"freshness":${JSON.stringify(q.freshness)}}`,
    );
    q.timings.encodeMs += performance.now() - te;
    res.setHeader('Server-Timing', serverTiming(res, q, opts.handlerStart));
    res.status(200).type('application/json');
    res.end(Buffer.concat([head, text, tail]));
    return undefined;
  }
  const blocks = q.stream(format)[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<Uint8Array>> | undefined;
  try {
    // The first block is awaited before the headers go out, so a failing query still gets a proper error status.
    pending = blocks.next();
    let r = await pending;
    res.status(200);
    res.setHeader('Content-Type', format === 'arrow' ? ARROW_STREAM_TYPE : NDJSON_TYPE);
    res.setHeader('Server-Timing', serverTiming(res, q, opts.handlerStart));
    while (!r.done) {
      // The engine computes the next block while this one is copied to the socket and drains:
      // asked for first, so the engine does not wait for the copy.
      pending = blocks.next();
      const flowing = res.write(r.value);
      if (!flowing) await drained(res, opts.clientGone, q.id);
      r = await pending;
    }
    pending = undefined;
    res.end();
  } finally {
    if (pending) {
      // Cut short (client gone, engine failed): settle the read in flight, then stop the engine.
      pending.catch(() => undefined);
      await blocks.return?.(undefined).catch(() => undefined);
    }
  }
  return undefined;
}

/** Resolves when the socket takes more; rejects when the client goes away first. */
function drained(res: Response, gone: AbortSignal, queryId: string): Promise<void> {
  if (gone.aborted || res.destroyed) return Promise.reject(Errors.queryCancelled(queryId));
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      res.off('drain', onDrain);
      gone.removeEventListener('abort', onGone);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onGone = () => {
      cleanup();
      reject(Errors.queryCancelled(queryId));
    };
    res.on('drain', onDrain);
    gone.addEventListener('abort', onGone, { once: true });
  });
}

/** Where the time went so far (ms), as the Server-Timing header: a client or the bench can read it per request. */
function serverTiming(res: Response, q: OpenQuery, handlerStart: bigint): string {
  const receivedAt = res.locals.receivedAt as bigint | undefined;
  const auth = receivedAt === undefined ? 0 : Number(handlerStart - receivedAt) / 1e6;
  const total = receivedAt === undefined ? 0 : Number(process.hrtime.bigint() - receivedAt) / 1e6;
  const t = q.timings;
  return [
    `auth;dur=${round(auth)};desc="auth and body parsing"`,
    `wait;dur=${round(t.waitMs)};desc="waiting for the applier"`,
    `plan;dur=${round(t.planMs)}`,
    `engine;dur=${round(t.engineMs)}`,
    `encode;dur=${round(t.encodeMs)}`,
    `total;dur=${round(total)};desc="until the answer is written"`,
  ].join(', ');
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
