// Worker-thread entry of the encoder pool: builds the Parquet bytes of one
// part at a time, off the main thread. It does no file I/O; the main thread
// writes, fsyncs and renames the file.

import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { EncodedPartMessage, FromWorker, ToWorker } from './encode-protocol.js';
import { encodePart } from './part-encoder.js';
import type { ColumnSpec, StoredRecord } from './types.js';

interface Job {
  id: number;
  columns: ColumnSpec[];
  rowGroupRows: number;
  records: StoredRecord[];
}

if (!parentPort) throw new Error('encode-worker must run in a worker thread');
const port: MessagePort = parentPort;
let current: Job | null = null;

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'begin':
      current = { id: msg.id, columns: msg.columns, rowGroupRows: msg.rowGroupRows, records: [] };
      break;
    case 'rows':
      if (current?.id === msg.id) for (const r of msg.records) current.records.push(r);
      break;
    case 'end': {
      const job = current;
      current = null;
      if (job?.id === msg.id) void encode(job);
      break;
    }
  }
});

async function encode(job: Job): Promise<void> {
  let reply: FromWorker;
  let transfer: ArrayBuffer[] = [];
  try {
    const encoded = await encodePart(job.columns, job.records, { rowGroupRows: job.rowGroupRows });
    job.records = [];
    const bytes = ownBuffer(encoded.bytes);
    const part: EncodedPartMessage = { ...encoded, bytes };
    reply = { type: 'done', id: job.id, part };
    transfer = [bytes.buffer as ArrayBuffer];
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { type: 'failed', id: job.id, name: e.name, message: e.message, stack: e.stack };
  }
  port.postMessage(reply, transfer);
}

/**
 * The bytes in an ArrayBuffer of their own, so that transferring it cannot
 * detach memory shared with anything else (small Buffers live in a shared pool).
 */
function ownBuffer(bytes: Buffer): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  return new Uint8Array(bytes);
}
