// Which ids the applier's id index may hold, in memory: a Bloom filter over
// every committed id-index key (idIndexKey). Ingest asks it before looking an
// id up in LevelDB: "no" is certain, so a new id (nearly every id) costs a
// hash instead of a LevelDB lookup on the acknowledge path; "maybe" (a
// committed id, or about 1% false positives) goes to LevelDB as before.
//
// Built once at start from the index (keys only, in the background; until it
// is complete every answer is "maybe"), and kept up by the applier, which
// adds a batch's ids right after committing them and before evicting them
// from the pending buffer, so an id is never in neither. The filter grows by
// adding larger segments (a scalable Bloom filter), up to MAX_BITS; past that
// it answers "maybe" to everything, which is slower but still exact.

const BITS_PER_KEY = 10;
const HASHES = 7;
const FIRST_SEGMENT_KEYS = 1 << 20;
/** 256 MiB of bits: about 200 million ids. */
const MAX_BITS = 2 ** 31;

interface Segment {
  bits: Uint32Array;
  /** Bit count - 1 (a power of two). */
  mask: number;
  capacity: number;
  count: number;
}

export class CommittedIds {
  private readonly segments: Segment[] = [];
  private totalBits = 0;
  private full = false;
  private built = false;

  /** Whether the filter covers the whole index (after the start-up scan). */
  get ready(): boolean {
    return this.built && !this.full;
  }

  /** False only when the id index certainly lacks `key`. */
  mightContain(key: string): boolean {
    if (!this.ready) return true;
    const [h1, h2] = hashes(key);
    for (const s of this.segments) if (probe(s, h1, h2)) return true;
    return false;
  }

  add(key: string): void {
    if (this.full) return;
    let s = this.segments[this.segments.length - 1];
    if (!s || s.count >= s.capacity) {
      s = this.grow();
      if (!s) return;
    }
    const [h1, h2] = hashes(key);
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & s.mask;
      s.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    s.count++;
  }

  /**
   * Reads every id-index key of the store into the filter, a slice at a time
   * (the event loop runs in between); keys the applier adds meanwhile go in
   * too, so the union is complete when this resolves.
   */
  async load(keys: AsyncIterable<string>): Promise<void> {
    for await (const key of keys) this.add(key);
    this.built = true;
  }

  private grow(): Segment | undefined {
    const last = this.segments[this.segments.length - 1];
    const capacity = last ? last.capacity * 2 : FIRST_SEGMENT_KEYS;
    const bitCount = 2 ** Math.ceil(Math.log2(capacity * BITS_PER_KEY));
    if (this.totalBits + bitCount > MAX_BITS) {
      this.full = true;
      this.segments.length = 0;
      return undefined;
    }
    const s = { bits: new Uint32Array(bitCount / 32), mask: bitCount - 1, capacity, count: 0 };
    this.segments.push(s);
    this.totalBits += bitCount;
    return s;
  }
}

function probe(s: Segment, h1: number, h2: number): boolean {
  for (let i = 0; i < HASHES; i++) {
    const bit = (h1 + Math.imul(i, h2)) & s.mask;
    if ((s.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
  }
  return true;
}

/** Two 32-bit FNV-1a hashes of the key's UTF-16 code units (different offsets), the second made odd. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  b ^= b >>> 15;
  return [a >>> 0, (b | 1) >>> 0];
}
