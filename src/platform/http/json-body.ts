// The JSON body reader of every route. Nearly every body a client sends is
// plain JSON: `Content-Type: application/json` (UTF-8), a Content-Length
// within the limit, no Content-Encoding. Those are read here with no more
// work than collecting the bytes, checking they are UTF-8 and JSON.parse,
// which takes about a third of body-parser's time per request (measured with
// the query bench's point lookup). Everything else (compressed bodies, other
// charsets, `+json` types, no length, an empty body, one over the limit) goes
// to body-parser, which defines the answers for those. Answers are the same
// either way: invalid JSON or a top-level value that is not an object or
// array is 400 invalid_json, bytes that are not UTF-8 400 invalid_encoding.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Errors } from '../errors.js';

const PLAIN_JSON = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const DECIMAL = /^\d{1,15}$/;
const BOM = [0xef, 0xbb, 0xbf] as const;

/**
 * `check` sees the raw bytes before they are parsed (the app factory refuses
 * non-UTF-8 there and keeps them as req.rawBody); `fallback` is body-parser's
 * JSON reader with the same limit and check.
 */
export function jsonBody(limitBytes: number, check: (req: Request, bytes: Buffer) => void, fallback: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const length = plainJsonLength(req, limitBytes);
    if (length === undefined) return fallback(req, res, next);
    const chunks: Buffer[] = [];
    let received = 0;
    const done = (err?: unknown) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      next(err);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    };
    const onError = (err: Error) => done(Errors.badRequest(`the request body could not be read: ${err.message}`));
    const onEnd = () => {
      if (received !== length) return done(Errors.badRequest(`the request body has ${received} bytes, Content-Length said ${length}`));
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      try {
        check(req, bytes);
        req.body = parseJsonDocument(bytes);
      } catch (err) {
        return done(err);
      }
      done();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  };
}

/** The declared length of a body this reader takes, or undefined for body-parser's. */
function plainJsonLength(req: Request, limitBytes: number): number | undefined {
  const h = req.headers;
  if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return undefined;
  const type = h['content-type'];
  const declared = h['content-length'];
  if (type === undefined || declared === undefined || !PLAIN_JSON.test(type) || !DECIMAL.test(declared)) return undefined;
  const length = Number(declared);
  return length > 0 && length <= limitBytes ? length : undefined;
}

/** A JSON object or array (as body-parser's strict mode); a UTF-8 byte order mark is skipped as its decoder does. */
export function parseJsonDocument(bytes: Buffer): unknown {
  const start = bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2] ? 3 : 0;
  const text = bytes.toString('utf8', start);
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') throw Errors.invalidJson('the body must be a JSON object or array');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw Errors.invalidJson((err as Error).message);
  }
}
