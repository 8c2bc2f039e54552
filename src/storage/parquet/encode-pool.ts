// Runs encodePart on worker threads so that building Parquet bytes (CPU-bound,
// seconds for a large batch) does not block the event loop that also serves
// HTTP. Each worker encodes one part at a time; jobs queue in FIFO order.
//
// Workers are started on first use and are unref'd while idle, so a sink that
// is never closed does not keep the process alive. A worker that dies fails
// its job with storage_failure and is replaced on the next job.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { Errors } from '../../platform/errors.js';
import { startModuleWorker } from '../../platform/worker-thread.js';
import type { FromWorker, ToWorker } from './encode-protocol.js';
import type { EncodeOptions, EncodedPart } from './part-encoder.js';
import type { ColumnSpec, StoredRecord } from './types.js';

/** Records per message: bounds how long one structured clone blocks the main thread. */
const SLICE_RECORDS = 2_048;

interface Job {
  id: number;
  columns: ColumnSpec[];
  records: readonly StoredRecord[];
  rowGroupRows: number;
  resolve: (part: EncodedPart) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker | null;
  job: Job | null;
}

export class EncodePool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closing: Promise<void> | null = null;

  constructor(size: number) {
    this.slots = Array.from({ length: size }, () => ({ worker: null, job: null }));
  }

  /** `records` must be non-empty and sorted by LSN (see encodePart). */
  encode(columns: readonly ColumnSpec[], records: readonly StoredRecord[], opts: EncodeOptions): Promise<EncodedPart> {
    if (this.closing) return Promise.reject(Errors.storageFailure('the Parquet sink is closed'));
    return new Promise<EncodedPart>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, columns: [...columns], records, rowGroupRows: opts.rowGroupRows, resolve, reject });
      this.pump();
    });
  }

  /** Terminates the workers and fails queued and running jobs. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = Errors.storageFailure('the Parquet sink is closed');
      for (const job of this.queue.splice(0)) job.reject(closed);
      const workers: Worker[] = [];
      for (const slot of this.slots) {
        this.finish(slot, closed);
        if (slot.worker) workers.push(slot.worker);
        slot.worker = null;
      }
      await Promise.all(workers.map((w) => w.terminate()));
    })();
    return this.closing;
  }

  /** The running workers; for diagnostics and tests. */
  liveWorkers(): Worker[] {
    return this.slots.flatMap((s) => (s.worker ? [s.worker] : []));
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.closing || this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      void this.send(slot, job);
    }
  }

  private async send(slot: Slot, job: Job): Promise<void> {
    let worker: Worker;
    try {
      worker = slot.worker ?? this.spawn(slot);
    } catch (err) {
      this.finish(slot, Errors.storageFailure('cannot start the Parquet encoder worker', err));
      return;
    }
    worker.ref(); // an encode in flight keeps the process alive
    try {
      post(worker, { type: 'begin', id: job.id, columns: job.columns, rowGroupRows: job.rowGroupRows });
      for (let i = 0; i < job.records.length; i += SLICE_RECORDS) {
        if (i > 0) {
          await yieldToEventLoop();
          if (slot.job !== job || slot.worker !== worker) return; // the worker died or the pool closed
        }
        post(worker, { type: 'rows', id: job.id, records: job.records.slice(i, i + SLICE_RECORDS) });
      }
      post(worker, { type: 'end', id: job.id });
    } catch (err) {
      // A record that cannot be cloned; the worker holds a half-received job, so replace it.
      this.retire(slot, worker);
      this.finish(slot, Errors.storageFailure('cannot send records to the Parquet encoder worker', err));
    }
  }

  private spawn(slot: Slot): Worker {
    const worker = startModuleWorker(import.meta.url, 'encode-worker');
    worker.unref();
    slot.worker = worker;
    worker.on('message', (msg: FromWorker) => {
      if (slot.worker !== worker || slot.job?.id !== msg.id) return;
      if (msg.type === 'done') {
        const { bytes, ...meta } = msg.part;
        this.finish(slot, null, { ...meta, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
      } else {
        const cause = Object.assign(new Error(msg.message), { name: msg.name, stack: msg.stack });
        this.finish(slot, Errors.storageFailure('cannot encode Parquet part', cause));
      }
    });
    worker.on('error', (err) => {
      if (slot.worker !== worker) return;
      this.retire(slot, worker);
      this.finish(slot, Errors.storageFailure('the Parquet encoder worker failed', err));
    });
    worker.on('messageerror', (err) => {
      if (slot.worker !== worker) return;
      this.retire(slot, worker);
      this.finish(slot, Errors.storageFailure('the Parquet encoder worker sent an unreadable message', err));
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      this.finish(slot, Errors.storageFailure(`the Parquet encoder worker exited with code ${code}`));
    });
    return worker;
  }

  /** Forgets a broken worker (the next job starts a new one) and makes sure it ends. */
  private retire(slot: Slot, worker: Worker): void {
    if (slot.worker === worker) slot.worker = null;
    void worker.terminate();
  }

  /** Settles the slot's job (if any), frees the slot and starts the next job. */
  private finish(slot: Slot, err: unknown, part?: EncodedPart): void {
    const job = slot.job;
    slot.job = null;
    slot.worker?.unref();
    if (job) {
      if (part && err === null) job.resolve(part);
      else job.reject(err);
    }
    this.pump();
  }
}

function post(worker: Worker, msg: ToWorker): void {
  worker.postMessage(msg);
}
