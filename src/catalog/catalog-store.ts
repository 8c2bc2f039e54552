// The catalog lives in the state store's `catalog` sublevel: one entry per
// tenant table (schema, row count, bytes, time range) and one per Parquet part.
// The applier commits parts, stats and its checkpoint in a single LevelDB batch,
// so a reader never sees a part without its rows or a checkpoint ahead of both.
import { deleteKeyRange, type StateAccess, type StoreWrite } from '../platform/state-store.js';
import { OPTIMIZER_WEIGHTS_KEY } from './state-layout.js';
import { catalogPartKey, catalogPartPrefix, catalogTableKey, catalogTablePrefix, idIndexRange, queryColumnStatsKey, workerColumnStatsKey } from '../storage/physical-names.js';
import type { WrittenPart } from '../storage/parquet/index.js';
import type { ColumnSpec } from '../storage/record-types.js';

export interface TableEntry {
  tenant: string;
  table: string;
  columns: ColumnSpec[];
  rowCount: number;
  bytes: number;
  partitions: number;
  minTsMs: number | null;
  maxTsMs: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A Parquet part as the catalog records it: what the sink wrote, minus its absolute path. */
export type PartEntry = Omit<WrittenPart, 'path'>;

/** The catalog entry of a part the Parquet sink just wrote. */
export function partEntryOf(p: PartEntry & { path?: string }): PartEntry {
  const { path: _absolute, ...entry } = p;
  return entry;
}

/** Rows, bytes and partitions summed over tables (a tenant's totals). */
export function totalsOf(tables: readonly TableEntry[]): { rows: number; bytes: number; partitions: number } {
  let rows = 0;
  let bytes = 0;
  let partitions = 0;
  for (const t of tables) {
    rows += t.rowCount;
    bytes += t.bytes;
    partitions += t.partitions;
  }
  return { rows, bytes, partitions };
}

// Keys and listing prefixes come from physical-names.ts: injective in (tenant, table).
const CHECKPOINT_KEY = 'applier.checkpoint';
const PURGED_KEY = 'applier.purgedTenants';
const statsKeyOf = (source: 'computed' | 'worker', tenant: string, table: string) =>
  source === 'computed' ? queryColumnStatsKey(tenant, table) : workerColumnStatsKey(tenant, table);

export class CatalogStore {
  /**
   * Listings by key prefix, dropped on every write through this store. Every
   * query plans from listTables/listParts, and decoding hundreds of part
   * entries from LevelDB cost more than the rest of planning. Sound because
   * this store is the only writer of tables and parts (one process owns the
   * LevelDB directory, and it holds one CatalogStore). Arrays are frozen:
   * a caller sorting one in place would corrupt the cache.
   */
  private readonly listings = new Map<string, Promise<readonly (TableEntry | PartEntry)[]>>();

  /** `state`: the catalog's own sublevels (see state-layout.ts). */
  constructor(private readonly state: StateAccess) {}

  private get catalog() {
    return this.state.sublevel<TableEntry | PartEntry>('catalog');
  }

  private get meta() {
    return this.state.sublevel<number>('meta');
  }

  async getTable(tenant: string, table: string): Promise<TableEntry | undefined> {
    return (await this.catalog.get(catalogTableKey(tenant, table))) as TableEntry | undefined;
  }

  async listTables(tenant?: string): Promise<readonly TableEntry[]> {
    return (await this.listing(catalogTablePrefix(tenant))) as readonly TableEntry[];
  }

  async listParts(tenant: string, table?: string): Promise<readonly PartEntry[]> {
    return (await this.listing(catalogPartPrefix(tenant, table))) as readonly PartEntry[];
  }

  private listing(prefix: string): Promise<readonly (TableEntry | PartEntry)[]> {
    let cached = this.listings.get(prefix);
    if (!cached) {
      cached = (async () => {
        const out: Array<TableEntry | PartEntry> = [];
        for await (const v of this.catalog.values({ gte: prefix, lt: `${prefix}\uffff` })) out.push(Object.freeze(v));
        return Object.freeze(out);
      })();
      this.listings.set(prefix, cached);
      const mine = cached;
      // A failed read is not remembered.
      mine.catch(() => {
        if (this.listings.get(prefix) === mine) this.listings.delete(prefix);
      });
    }
    return cached;
  }

  async putTable(entry: TableEntry): Promise<void> {
    try {
      await this.catalog.put(catalogTableKey(entry.tenant, entry.table), entry);
    } finally {
      this.listings.clear();
    }
  }

  /**
   * Forgets a tenant table: its entry, every part entry and its column
   * statistics, in one synced batch.
   * Returns the part entries that were removed.
   */
  async dropTable(tenant: string, table: string): Promise<readonly PartEntry[]> {
    const parts = await this.listParts(tenant, table);
    const writes: StoreWrite[] = [
      { type: 'del', sublevel: 'catalog', key: catalogTableKey(tenant, table) },
      ...parts.map((p): StoreWrite => ({ type: 'del', sublevel: 'catalog', key: catalogPartKey(p) })),
      { type: 'del', sublevel: 'catalog', key: statsKeyOf('computed', tenant, table) },
      { type: 'del', sublevel: 'catalog', key: statsKeyOf('worker', tenant, table) },
    ];
    try {
      await this.state.writeBatch(writes, { sync: true });
    } finally {
      this.listings.clear();
    }
    return parts;
  }

  /** The LSN each data_id key (physical-names idIndexKey) was committed under; undefined where none was. */
  committedLsns(keys: readonly string[]): Promise<Array<number | undefined>> {
    return this.state.getMany<number>('dataIds', keys);
  }

  /** Every key of the data_id index (ingest's duplicate filter reads them once at start). */
  dataIdKeys(): AsyncIterable<string> {
    return this.state.sublevel('dataIds').keys();
  }

  /** Forgets the data_id index of one tenant table (its data is gone), a synced batch per slice. */
  dropDataIds(tenant: string, table: string): Promise<number> {
    return deleteKeyRange(this.state, 'dataIds', idIndexRange(tenant, table));
  }

  /** Deleted tenants and the last LSN of theirs that must never be applied (the applier's tombstones). */
  async purgedTenants(): Promise<Record<string, number>> {
    return ((await this.state.sublevel<Record<string, number>>('meta').get(PURGED_KEY)) as Record<string, number> | undefined) ?? {};
  }

  async setPurgedTenants(purged: Record<string, number>): Promise<void> {
    await this.state.writeBatch([{ type: 'put', sublevel: 'meta', key: PURGED_KEY, value: purged }], { sync: true });
  }

  /** Column statistics of a table: computed by the query path, or posted by a worker's column-stats job. */
  getColumnStats<T>(source: 'computed' | 'worker', tenant: string, table: string): Promise<T | undefined> {
    return this.state.sublevel<T>('catalog').get(statsKeyOf(source, tenant, table)) as Promise<T | undefined>;
  }

  async putColumnStats<T>(source: 'computed' | 'worker', tenant: string, table: string, stats: T): Promise<void> {
    await this.state.sublevel<T>('catalog').put(statsKeyOf(source, tenant, table), stats);
  }

  /** The optimizer's cost weights as stored (the query path validates them). */
  getOptimizerWeights<T>(): Promise<T | undefined> {
    return this.state.sublevel<T>('optimizer').get(OPTIMIZER_WEIGHTS_KEY) as Promise<T | undefined>;
  }

  async putOptimizerWeights<T>(value: T): Promise<void> {
    await this.state.sublevel<T>('optimizer').put(OPTIMIZER_WEIGHTS_KEY, value);
  }

  async checkpoint(): Promise<number> {
    return (await this.meta.get(CHECKPOINT_KEY)) ?? 0;
  }

  /** One atomic commit of an applied batch: catalog entries, id index and checkpoint together. */
  async commitBatch(change: { tables: TableEntry[]; parts: PartEntry[]; removedParts?: PartEntry[]; checkpoint: number; ids?: Array<{ key: string; lsn: number }> }): Promise<void> {
    const writes: StoreWrite[] = [];
    for (const t of change.tables) writes.push({ type: 'put', sublevel: 'catalog', key: catalogTableKey(t.tenant, t.table), value: t });
    for (const p of change.parts) writes.push({ type: 'put', sublevel: 'catalog', key: catalogPartKey(p), value: p });
    for (const p of change.removedParts ?? []) writes.push({ type: 'del', sublevel: 'catalog', key: catalogPartKey(p) });
    for (const e of change.ids ?? []) writes.push({ type: 'put', sublevel: 'dataIds', key: e.key, value: e.lsn });
    writes.push({ type: 'put', sublevel: 'meta', key: CHECKPOINT_KEY, value: change.checkpoint });
    // sync: the WAL is truncated right after this commit, so it must survive a power cut.
    // The bulk path: a batch carries one id-index entry per row.
    try {
      await this.state.writeBatch(writes, { sync: true });
    } finally {
      this.listings.clear();
    }
  }
}
