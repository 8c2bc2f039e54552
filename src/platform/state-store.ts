// The shared state store: one LevelDB database, one sublevel per concern, each
// with JSON values. Opened once at boot and closed at shutdown.
import { mkdir } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ClassicLevel } from 'classic-level';
import type { AbstractSublevel } from 'abstract-level';
import { SLICE_ROWS } from './slices.js';

/**
 * A sublevel's name. Which sublevels exist and which module owns each is
 * declared once, in src/catalog/state-layout.ts, and handed to open().
 */
export type SublevelName = string;

/** Every sublevel with the one module that writes it. */
export type StateLayout = Readonly<Record<SublevelName, string>>;

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

/** What a module may do with the state store: only its own sublevels (see StateStore.scoped). */
export interface StateAccess {
  readonly path: string;
  readonly isOpen: boolean;
  sublevel<V>(name: SublevelName): JsonSublevel<V>;
  batch(): ReturnType<ClassicLevel<string, unknown>['batch']>;
  writeBatch(writes: readonly StoreWrite[], options: { sync: boolean }): Promise<void>;
  getMany<V>(sublevel: SublevelName, keys: readonly string[]): Promise<Array<V | undefined>>;
}

export class StateStore implements StateAccess {
  // Sublevel objects are not free to build; one per name, reused.
  private readonly sublevels = new Map<SublevelName, JsonSublevel<unknown>>();

  private constructor(
    readonly path: string,
    private readonly db: ClassicLevel<string, unknown>,
    private readonly layout?: StateLayout,
  ) {}

  /** With a layout, only its sublevels can be used, and scoped() hands each owner its own. */
  static async open(path: string, layout?: StateLayout): Promise<StateStore> {
    await mkdir(path, { recursive: true });
    const db = new ClassicLevel<string, unknown>(path, { valueEncoding: 'json' });
    await db.open();
    return new StateStore(path, db, layout);
  }

  /**
   * The store as `owner` may use it: its own sublevels, nothing else. A module
   * that reaches for another's sublevel fails loudly instead of quietly sharing it.
   */
  scoped(owner: string): StateAccess {
    const layout = this.layout;
    if (!layout) throw new Error('state store: scoped() needs the layout given to open()');
    if (!Object.values(layout).includes(owner)) throw new Error(`state store: no sublevel is owned by ${owner}`);
    const check = (name: SublevelName) => {
      if (layout[name] !== owner) throw new Error(`state store: ${owner} may not use sublevel ${name} (${layout[name] ? `owned by ${layout[name]}` : 'undeclared'})`);
    };
    const isOpen = () => this.isOpen;
    return {
      path: this.path,
      get isOpen() {
        return isOpen();
      },
      sublevel: <V>(name: SublevelName) => {
        check(name);
        return this.sublevel<V>(name);
      },
      // Chained batches write through sublevel objects, which only this scope's own names yield.
      batch: () => this.batch(),
      writeBatch: async (writes, options) => {
        for (const w of writes) check(w.sublevel);
        return this.writeBatch(writes, options);
      },
      getMany: async <V>(name: SublevelName, keys: readonly string[]) => {
        check(name);
        return this.getMany<V>(name, keys);
      },
    };
  }

  /**
   * Every sublevel, declared or not, for the one migration that moves keys of
   * an earlier layout to their owners at start. Nothing else may use it.
   */
  migrationView(): Pick<StateAccess, 'sublevel' | 'writeBatch'> {
    return {
      sublevel: <V>(name: SublevelName) => this.anySublevel<V>(name),
      writeBatch: (writes, options) => this.writeBatch(writes, options, false),
    };
  }

  /** A typed view of one concern's keyspace. */
  sublevel<V>(name: SublevelName): JsonSublevel<V> {
    this.assertDeclared(name);
    return this.anySublevel<V>(name);
  }

  private assertDeclared(name: SublevelName): void {
    if (this.layout && !(name in this.layout)) throw new Error(`state store: sublevel ${name} is not declared in the state layout`);
  }

  private anySublevel<V>(name: SublevelName): JsonSublevel<V> {
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
  async writeBatch(writes: readonly StoreWrite[], options: { sync: boolean }, declaredOnly = true): Promise<void> {
    this.assertOpen();
    if (declaredOnly) for (const w of writes) this.assertDeclared(w.sublevel);
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
    this.assertDeclared(sublevel);
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

/** Keys deleted per synced batch by deleteKeyRange: bounded work per batch, however large the range. */
const DELETE_SLICE_KEYS = 10_000;

/**
 * Deletes every key of `sublevel` in [gte, lt), a synced batch per slice of
 * keys; returns how many went. Not one atomic batch: a crash midway leaves
 * the rest, and running it again finishes the job.
 */
export async function deleteKeyRange(state: StateAccess, sublevel: SublevelName, range: { gte: string; lt: string }): Promise<number> {
  let deleted = 0;
  for (;;) {
    const keys: string[] = [];
    for await (const key of state.sublevel(sublevel).keys({ ...range, limit: DELETE_SLICE_KEYS })) keys.push(key);
    if (keys.length === 0) return deleted;
    await state.writeBatch(keys.map((key): StoreWrite => ({ type: 'del', sublevel, key })), { sync: true });
    deleted += keys.length;
  }
}
