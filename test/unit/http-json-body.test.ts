// The JSON body reader reads plain JSON itself and hands everything else to
// body-parser. Differential test: every body is sent twice to a real HTTP
// server, once as plain JSON with a Content-Length (read by jsonBody) and once
// chunked (no Content-Length: read by body-parser), and both answers must be
// the same status, error code and parsed value.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { isUtf8 } from 'node:buffer';
import { Errors } from '../../src/platform/errors.js';
import { errorHandler } from '../../src/platform/http/error-handler.js';
import { jsonBody } from '../../src/platform/http/json-body.js';

const LIMIT = 1024;
let server: http.Server;
let port: number;
const readBy: string[] = [];

const check = (bytes: Buffer) => {
  if (!isUtf8(bytes)) throw Errors.invalidEncoding('the request body is not valid UTF-8');
};

before(async () => {
  const app = express();
  const fallback = express.json({ limit: LIMIT, verify: (_req, _res, buf) => check(buf) });
  app.post(
    '/echo',
    jsonBody(LIMIT, (_req, bytes) => check(bytes), (req, res, next) => {
      readBy.push('body-parser');
      fallback(req, res, next);
    }),
    (req, res) => res.json({ body: req.body as unknown }),
  );
  app.use(errorHandler(LIMIT));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends `bytes` with a Content-Length, or chunked (no length). */
function send(bytes: Buffer, chunked: boolean): Promise<{ status: number; json: { body?: unknown; error?: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = bytes.length;
    const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(parts).toString()) as never }));
    });
    req.on('error', reject);
    if (chunked) {
      // Two writes, so the body really arrives in chunks.
      req.write(bytes.subarray(0, 1));
      req.end(bytes.subarray(1));
    } else req.end(bytes);
  });
}

const CASES: Array<[string, Buffer, number, string | undefined]> = [
  ['an object', Buffer.from('{"sql":"SELECT 1","n":[1,2.5,null,true]}'), 200, undefined],
  ['an array with non-ASCII text', Buffer.from('[{"data_id":"ü-€-😀","payload":{"k":"日本"}}]'), 200, undefined],
  ['an object after a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]), 200, undefined],
  ['escapes of a lone surrogate (valid JSON; refused later, by ingest)', Buffer.from('{"a":"\\ud800"}'), 200, undefined],
  ['whitespace around an object', Buffer.from(' \n\t{"a":1}\r\n '), 200, undefined],
  ['truncated JSON', Buffer.from('{"username":'), 400, 'invalid_json'],
  ['a number', Buffer.from('42'), 400, 'invalid_json'],
  ['a string', Buffer.from('"text"'), 400, 'invalid_json'],
  ['null', Buffer.from('null'), 400, 'invalid_json'],
  ['whitespace only', Buffer.from('   '), 400, 'invalid_json'],
  ['bytes that are not UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400, 'invalid_encoding'],
  ['a body over the limit', Buffer.from(`{"a":"${'x'.repeat(LIMIT * 2)}"}`), 413, 'payload_too_large'],
];

for (const [name, bytes, status, code] of CASES) {
  test(`${name}: the same answer from both readers (${status}${code ? ` ${code}` : ''})`, async () => {
    readBy.length = 0;
    const plain = await send(bytes, false);
    const fastPath = readBy.length === 0;
    const chunked = await send(bytes, true);
    assert.deepEqual(readBy.slice(-1), ['body-parser'], 'the chunked body went to body-parser');
    // Over the limit, body-parser answers for the plain body too (it refuses on the declared length).
    assert.equal(fastPath, status !== 413, 'a plain body within the limit is read by jsonBody');
    assert.equal(plain.status, status);
    assert.equal(chunked.status, status);
    assert.equal(plain.json.error?.code, code);
    assert.equal(chunked.json.error?.code, code);
    assert.deepEqual(plain.json.body, chunked.json.body);
  });
}
