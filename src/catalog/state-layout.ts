// Every sublevel of the state store (LevelDB) with the one module that writes
// it. Boot opens the store with this list and hands each owner a view of its
// own sublevels only (StateStore.scoped): a module that reaches for another's
// keys fails at once instead of quietly sharing them. Other modules go
// through the owner's API (the catalog's for everything about tables).
// A test compares this list with what is on disk after a full end-to-end run.
import type { Logger } from 'pino';
import type { StateLayout, StateStore, StoreWrite } from '../platform/state-store.js';

export type StateOwner = 'auth' | 'catalog' | 'ingest' | 'sinks' | 'workers';

export const STATE_LAYOUT = {
  // auth: who may do what, and the record of what they did
  tenants: 'auth',
  users: 'auth',
  sessions: 'auth',
  sessionsByUser: 'auth',
  loginAttempts: 'auth',
  apiKeys: 'auth',
  /** Markers of one-time work done (admin bootstrap, session index built). */
  authMeta: 'auth',
  audit: 'auth',
  approvals: 'auth',
  // catalog: all metadata about tenant tables
  /** Table entries (schema, rows, bytes, time range), Parquet parts, column statistics. */
  catalog: 'catalog',
  /** The applier's checkpoint and the tombstones of deleted tenants. */
  meta: 'catalog',
  /** The data_id index: (tenant, table, data_id) → the LSN it was committed under. */
  dataIds: 'catalog',
  /** The optimizer's cost weights. */
  optimizer: 'catalog',
  // ingest
  /** Stored answers of requests sent with an Idempotency-Key (24 h). */
  idempotency: 'ingest',
  // sinks
  /** Cluster mode: what each table's in-flight quorum insert covers, so a re-sent block is identical. */
  insertIntents: 'sinks',
  // workers
  workers: 'workers',
  jobs: 'workers',
} as const satisfies StateLayout & Record<string, StateOwner>;

/** Sublevels written only in some modes (the on-disk test does not expect them after an embedded run). */
export const MODE_SPECIFIC_SUBLEVELS: ReadonlySet<keyof typeof STATE_LAYOUT> = new Set(['insertIntents']);

export type SublevelOf<O extends StateOwner> = { [K in keyof typeof STATE_LAYOUT]: (typeof STATE_LAYOUT)[K] extends O ? K : never }[keyof typeof STATE_LAYOUT];

/**
 * Sublevels of earlier versions, emptied into their successors at start:
 * `ingest` held both the data_id index (`id\0…`) and idempotency answers
 * (`idem\0…`); `queries` held the cost weights; `meta` also held auth's markers.
 */
const MOVES: ReadonlyArray<{ from: string; to: keyof typeof STATE_LAYOUT; range: { gte: string; lt: string }; rename?: (key: string) => string }> = [
  { from: 'ingest', to: 'dataIds', range: { gte: 'id\u0000', lt: 'id\u0001' } },
  { from: 'ingest', to: 'idempotency', range: { gte: 'idem\u0000', lt: 'idem\u0001' } },
  { from: 'queries', to: 'optimizer', range: { gte: 'cbo.config', lt: 'cbo.config\u0000' }, rename: () => OPTIMIZER_WEIGHTS_KEY },
  { from: 'meta', to: 'authMeta', range: { gte: 'auth.', lt: 'auth/' } },
];

export const OPTIMIZER_WEIGHTS_KEY = 'weights';
const MOVE_SLICE = 10_000;

/**
 * Moves keys an earlier version kept under other sublevels (see MOVES), a
 * slice at a time: each slice's copies and deletes are one synced batch, so a
 * crash in between leaves every key in exactly one place and a restart goes on.
 * Keys no move covers are left where they are and reported.
 */
export async function migrateStateLayout(store: StateStore, log: Logger): Promise<void> {
  const raw = store.migrationView();
  for (const move of MOVES) {
    let moved = 0;
    for (;;) {
      const slice: StoreWrite[] = [];
      for await (const [key, value] of raw.sublevel(move.from).iterator({ ...move.range, limit: MOVE_SLICE })) {
        slice.push({ type: 'put', sublevel: move.to, key: move.rename ? move.rename(key) : key, value }, { type: 'del', sublevel: move.from, key });
      }
      if (slice.length === 0) break;
      await raw.writeBatch(slice, { sync: true });
      moved += slice.length / 2;
    }
    if (moved > 0) log.info({ from: move.from, to: move.to, keys: moved }, 'state store: moved keys of an earlier layout to their owner');
  }
  for (const legacy of new Set(MOVES.map((m) => m.from).filter((name) => !(name in STATE_LAYOUT)))) {
    let left = 0;
    for await (const _ of raw.sublevel(legacy).keys({ limit: 1 })) left++;
    if (left > 0) log.warn({ sublevel: legacy }, 'state store: keys of an earlier layout that no owner recognises are left in place');
  }
}
