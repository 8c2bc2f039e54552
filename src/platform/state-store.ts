// The shared state store: one LevelDB database, one sublevel per concern, each
// with JSON values. Opened once at boot and closed at shutdown.
import { mkdir } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ClassicLevel } from 'classic-level';
import type { AbstractSublevel } from 'abstract-level';
import { SLICE_ROWS } from './slices.js';

export const SUBLEVELS = ['tenants', 'users', 'sessions', 'sessionsByUser', 'loginAttempts', 'apiKeys', 'catalog', 'queries', 'workers', 'jobs', 'ingest', 'meta'] as const;
export type SublevelName = (typeof SUBLEVELS)[number];

/** One write of StateStore.writeBatch: a key of one sublevel. */
export type StoreWrite = { type: 'put'; sublevel: SublevelName; key: string; value: unknown } | { type: 'del'; sublevel: SublevelName; key: string };

/**
 * abstract-level's implementor API, which classic-level implements natively.
 * The public batch()/getMany() add validation, encoding, hooks and events per
 * operation: about 4.5 µs each here, most of the cost of committing a
 * 50k-row batch's id index.
 */
interface NativeLevel {
  _chainedBatch(): NativeChainedBatch;
  _getMany(keys: string[], options: { keyEncoding: 'utf8'; valueEncoding: 'utf8'; fillCache: boolean }): Promise<Array<string | undefined>>;
}

/**
 * A native LevelDB WriteBatch: operations are added one native call each and
 * applied atomically by _write. close() (public) detaches it from the database.
 */
interface NativeChainedBatch {
  _put(key: string, value: string): void;
  _del(key: string): void;
  _write(options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

// How a sublevel prefixes its keys (abstract-level's default separator).
const prefixOf = (name: SublevelName) => `!${name}!`;

export type JsonSublevel<V = unknown> = AbstractSublevel<ClassicLevel<string, unknown>, string | Buffer | Uint8Array, string, V>;

export class StateStore {
  // Sublevel objects are not free to build; one per name, reused.
  private readonly sublevels = new Map<SublevelName, JsonSublevel<unknown>>();

  private constructor(
    readonly path: string,
    private readonly db: ClassicLevel<string, unknown>,
  ) {}

  static async open(path: string): Promise<StateStore> {
    await mkdir(path, { recursive: true });
    const db = new ClassicLevel<string, unknown>(path, { valueEncoding: 'json' });
    await db.open();
    return new StateStore(path, db);
  }

  /** A typed view of one concern's keyspace. */
  sublevel<V>(name: SublevelName): JsonSublevel<V> {
    let sub = this.sublevels.get(name);
    if (!sub) {
      sub = this.db.sublevel<string, unknown>(name, { valueEncoding: 'json' }) as unknown as JsonSublevel<unknown>;
      this.sublevels.set(name, sub);
    }
    return sub as unknown as JsonSublevel<V>;
  }

  /** Atomic writes across sublevels (e.g. catalog + checkpoint in one step). */
  batch(): ReturnType<ClassicLevel<string, unknown>['batch']> {
    return this.db.batch();
  }

  /**
   * Atomic writes across sublevels in one LevelDB batch, for bulk commits. Keys
   * and JSON values are encoded as the sublevels encode them (a unit test
   * reads each through the other); no hooks or write events fire (none are used).
   */
  async writeBatch(writes: readonly StoreWrite[], options: { sync: boolean }): Promise<void> {
    this.assertOpen();
    for (const w of writes) {
      // Same rule as the public API: a put needs a value.
      if (w.type === 'put' && (w.value === undefined || w.value === null)) throw new TypeError(`writeBatch: no value for ${w.sublevel} key ${JSON.stringify(w.key)}`);
    }
    // Built a slice at a time with the event loop running in between (a 50k-row
    // batch would otherwise block it for ~100 ms), yet still one atomic write.
    const batch = (this.db as unknown as NativeLevel)._chainedBatch();
    try {
      for (let i = 0; i < writes.length; i++) {
        if (i > 0 && i % SLICE_ROWS === 0) await yieldToEventLoop();
        const w = writes[i]!;
        if (w.type === 'put') batch._put(prefixOf(w.sublevel) + w.key, JSON.stringify(w.value));
        else batch._del(prefixOf(w.sublevel) + w.key);
      }
      this.assertOpen();
      await batch._write({ sync: options.sync });
    } finally {
      await batch.close();
    }
  }

  /** Many keys of one sublevel, a slice per native call; undefined where a key is absent. */
  async getMany<V>(sublevel: SublevelName, keys: readonly string[]): Promise<Array<V | undefined>> {
    this.assertOpen();
    const prefix = prefixOf(sublevel);
    const out: Array<V | undefined> = [];
    for (let i = 0; i < keys.length; i += SLICE_ROWS) {
      const raw = await (this.db as unknown as NativeLevel)._getMany(
        keys.slice(i, i + SLICE_ROWS).map((k) => prefix + k),
        { keyEncoding: 'utf8', valueEncoding: 'utf8', fillCache: true },
      );
      for (const v of raw) out.push(v === undefined ? undefined : (JSON.parse(v) as V));
    }
    return out;
  }

  /**
   * The keys of one sublevel that start with `prefix`, read a slice at a time
   * (the event loop runs between slices).
   */
  async *keysWithPrefix(sublevel: SublevelName, prefix: string): AsyncGenerator<string> {
    // The first string after every key with this prefix: the prefix with its last code unit incremented.
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const it = this.sublevel(sublevel).keys({ gte: prefix, lt: end });
    try {
      for (;;) {
        const slice = await it.nextv(SLICE_ROWS);
        if (slice.length === 0) return;
        yield* slice;
      }
    } finally {
      await it.close();
    }
  }

  private assertOpen(): void {
    // The public API would defer or reject; bulk callers run only while the store is open.
    if (this.db.status !== 'open') throw new Error(`state store ${this.path} is ${this.db.status}`);
  }

  get isOpen(): boolean {
    return this.db.status === 'open';
  }

  async close(): Promise<void> {
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close();
  }
}
