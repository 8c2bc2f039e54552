// The embedded engine streams ArrowStream output block by block, and each
// block arrives as a complete Arrow IPC stream of its own: the schema message,
// the block's record batch, the end-of-stream marker. Concatenated as they
// are, a reader stops after the first block. This joins them into the one
// stream a client expects (schema once, every batch, one end marker) by
// slicing the framing off, without copying or decoding any column data.
//
// IPC framing (Arrow format, "encapsulated message"): 0xFFFFFFFF, an int32
// little-endian metadata length, the metadata (padded to 8 bytes), the body.
// The end-of-stream marker is 0xFFFFFFFF followed by a zero length.
import { Errors } from '../../platform/errors.js';

const CONTINUATION = 0xffffffff;
export const ARROW_EOS = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

export class ArrowStreamJoiner {
  private schema: Uint8Array | undefined;

  /** Whether a first block (and so the schema) has gone out. */
  get started(): boolean {
    return this.schema !== undefined;
  }

  /** The bytes of one engine block to send on: with the schema the first time, never an end marker. */
  next(block: Uint8Array): Uint8Array {
    const schemaLength = messageLength(block);
    const end = endsWithEos(block) ? block.length - ARROW_EOS.length : block.length;
    if (this.schema === undefined) {
      this.schema = block.slice(0, schemaLength);
      return block.subarray(0, end);
    }
    if (!sameBytes(this.schema, block.subarray(0, schemaLength))) {
      throw Errors.storageFailure('ClickHouse ArrowStream blocks disagree on the schema');
    }
    return block.subarray(schemaLength, Math.max(schemaLength, end));
  }

  /** The end-of-stream marker that closes the joined stream. */
  end(): Uint8Array {
    return ARROW_EOS;
  }
}

/** Length of the first (schema) message of a block: continuation, length word, metadata. */
function messageLength(block: Uint8Array): number {
  if (block.length < 8) throw Errors.storageFailure(`ClickHouse ArrowStream block of ${block.length} bytes is too short`);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  if (view.getUint32(0, true) !== CONTINUATION) throw Errors.storageFailure('ClickHouse ArrowStream block does not start with an IPC message');
  const metadata = view.getInt32(4, true);
  if (metadata <= 0 || 8 + metadata > block.length) throw Errors.storageFailure('ClickHouse ArrowStream block has a malformed schema message');
  return 8 + metadata;
}

function endsWithEos(block: Uint8Array): boolean {
  if (block.length < ARROW_EOS.length) return false;
  const at = block.length - ARROW_EOS.length;
  for (let i = 0; i < ARROW_EOS.length; i++) if (block[at + i] !== ARROW_EOS[i]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
