// Runs renderGroups on a worker thread. Rendering a 50,000-row batch as JSON
// text for both sinks is most of the applier's JavaScript; on the main thread
// it competes with the requests being acknowledged, on the worker it uses the
// other core. The main thread only copies the batch's WAL bytes over and the
// rendered text back.
//
// One worker, started on first use and unref'd while idle; one that dies fails
// the batches in flight with storage_failure (the applier retries them) and is
// replaced on the next call.
import type { Worker } from 'node:worker_threads';
import { Errors } from '../platform/errors.js';
import { startModuleWorker } from '../platform/worker-thread.js';
import type { GroupToRender, PackedEntries, RenderedGroup } from './row-rendering.js';

export interface RenderRequest {
  id: number;
  entries: PackedEntries;
  groups: GroupToRender[];
}

export type RenderResponse =
  | { id: number; groups: RenderedGroup[]; error?: undefined }
  | { id: number; error: { name: string; message: string; stack: string | undefined } };

interface InFlight {
  resolve: (groups: RenderedGroup[]) => void;
  reject: (err: unknown) => void;
}

export class RowRenderer {
  private worker: Worker | null = null;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  private closed = false;

  render(entries: PackedEntries, groups: GroupToRender[]): Promise<RenderedGroup[]> {
    if (this.closed) return Promise.reject(Errors.storageFailure('the row renderer is closed'));
    let worker: Worker;
    try {
      worker = this.worker ?? this.spawn();
    } catch (err) {
      return Promise.reject(Errors.storageFailure('cannot start the row rendering worker', err));
    }
    const id = this.nextId++;
    return new Promise<RenderedGroup[]>((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      worker.ref(); // a batch in flight keeps the process alive
      const request: RenderRequest = { id, entries, groups };
      // The packed bytes were made for this request: move them instead of copying.
      worker.postMessage(request, [entries.bytes.buffer as ArrayBuffer]);
    });
  }

  /** Terminates the worker; batches in flight fail. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.fail(worker, Errors.storageFailure('the row renderer is closed'));
    await worker?.terminate();
  }

  private spawn(): Worker {
    const worker = startModuleWorker(import.meta.url, 'row-render-worker');
    this.worker = worker;
    worker.on('message', (msg: RenderResponse) => {
      const call = this.inFlight.get(msg.id);
      if (!call) return;
      this.inFlight.delete(msg.id);
      if (this.inFlight.size === 0) worker.unref();
      if (msg.error === undefined) call.resolve(msg.groups);
      else call.reject(Errors.storageFailure('cannot render rows', Object.assign(new Error(msg.error.message), msg.error)));
    });
    worker.on('error', (err) => this.fail(worker, Errors.storageFailure('the row rendering worker failed', err)));
    worker.on('messageerror', (err) => this.fail(worker, Errors.storageFailure('the row rendering worker sent an unreadable message', err)));
    worker.on('exit', (code) => this.fail(worker, Errors.storageFailure(`the row rendering worker exited with code ${code}`)));
    return worker;
  }

  /** Fails every batch in flight on `worker` and forgets it, so the next call starts another. */
  private fail(worker: Worker | null, err: unknown): void {
    if (worker === null || this.worker !== worker) return;
    this.worker = null;
    void worker.terminate();
    for (const call of this.inFlight.values()) call.reject(err);
    this.inFlight.clear();
  }
}
