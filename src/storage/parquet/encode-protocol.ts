// Messages between the encoder pool (main thread) and an encoder worker.
//
// A job's records go over in slices so that the main thread, which pays for
// cloning them, can yield to the event loop between slices instead of
// blocking for the whole batch at once.

import type { EncodedPart } from './part-encoder.js';
import type { ColumnSpec, StoredRecord } from './types.js';

export type ToWorker =
  | { type: 'begin'; id: number; columns: ColumnSpec[]; rowGroupRows: number }
  | { type: 'rows'; id: number; records: StoredRecord[] }
  | { type: 'end'; id: number };

/** An EncodedPart whose bytes travel as a transferable Uint8Array. */
export type EncodedPartMessage = Omit<EncodedPart, 'bytes'> & { bytes: Uint8Array };

export type FromWorker =
  | { type: 'done'; id: number; part: EncodedPartMessage }
  | { type: 'failed'; id: number; name: string; message: string; stack: string | undefined };
