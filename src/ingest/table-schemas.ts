// Schemas of tenant tables, inferred from data and kept in the catalog. A
// field's type is fixed by the first value seen; later records must agree (an
// integer is fine in a Float64 column). Checks are synchronous against an
// in-memory copy, so concurrent requests cannot race on a new column. The
// catalog write of a grown schema is shared: every request whose rows use
// that table waits for it, not only the one that grew it, so no request is
// acknowledged before its table is in the catalog (a query sent after the
// acknowledgement binds to it).
import type { CatalogStore, TableEntry } from '../catalog/catalog-store.js';
import { Errors } from '../platform/errors.js';
import { tableRefKey } from '../storage/physical-names.js';
import type { ColumnSpec, ColumnType } from '../storage/record-types.js';
import type { IngestRow } from './wal-entry.js';

const PROMOTABLE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RESERVED = new Set(['data_id', 'ts_ms', 'date', 'lsn', 'payload']);
export const MAX_COLUMNS = 256;

function typeOf(v: unknown): ColumnType | undefined {
  switch (typeof v) {
    case 'number':
      // JSON numbers are doubles once parsed, and a field seen first as 3 may
      // carry 1.5 next: inferring Int64 from one value would reject good data.
      return Number.isFinite(v) ? 'Float64' : undefined;
    case 'string':
      return 'String';
    case 'boolean':
      return 'Bool';
    default:
      return undefined; // objects, arrays and null stay in the payload JSON only
  }
}

function compatible(column: ColumnType, value: ColumnType): boolean {
  return column === value || (column === 'Float64' && value === 'Int64');
}

export class TableSchemas {
  private readonly cache = new Map<string, TableEntry>();
  /** Catalog writes of grown schemas not finished yet, by table key. */
  private readonly storing = new Map<string, Promise<void>>();
  /** Tables whose last catalog write failed: written again by the next request that uses them. */
  private readonly unstored = new Set<string>();

  constructor(private readonly catalog: CatalogStore) {}

  async load(): Promise<void> {
    for (const t of await this.catalog.listTables()) this.cache.set(tableRefKey(t.tenant, t.table), t);
  }

  columns(tenant: string, table: string): ColumnSpec[] {
    return this.cache.get(tableRefKey(tenant, table))?.columns ?? [];
  }

  entry(tenant: string, table: string): TableEntry | undefined {
    return this.cache.get(tableRefKey(tenant, table));
  }

  /** Called by the applier after commit so stats in the cache stay fresh. */
  refresh(entry: TableEntry): void {
    const cached = this.cache.get(tableRefKey(entry.tenant, entry.table));
    // Columns only grow here; keep the newest list (ingest may have added some since).
    const columns = cached && cached.columns.length > entry.columns.length ? cached.columns : entry.columns;
    this.cache.set(tableRefKey(entry.tenant, entry.table), { ...entry, columns });
  }

  /** Forgets a table's schema (its tenant was deleted): the next record starts a new one. */
  forget(tenant: string, table: string): void {
    const key = tableRefKey(tenant, table);
    this.cache.delete(key);
    this.unstored.delete(key);
  }

  /** Tables of a tenant that have a schema (some may have no applied rows yet). */
  tablesOf(tenant: string): string[] {
    return [...this.cache.values()].filter((e) => e.tenant === tenant).map((e) => e.table);
  }

  /**
   * Checks every row against its table's columns and works out new columns.
   * Throws (writing nothing) on the first conflict; returns the tables whose
   * schema grew (extend() stores them).
   */
  private checkAndExtend(tenant: string, rows: IngestRow[]): TableEntry[] {
    const pending = new Map<string, { entry: TableEntry; byName: Map<string, ColumnType> }>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const key = tableRefKey(tenant, row.table);
      let state = pending.get(key);
      if (!state) {
        const base = this.cache.get(key) ?? emptyEntry(tenant, row.table);
        state = { entry: { ...base, columns: [...base.columns] }, byName: new Map(base.columns.map((c) => [c.name, c.type])) };
        pending.set(key, state);
      }
      const payload = row.payload;
      // Known columns first (most fields of most rows): one map lookup, no name checks.
      for (const field of Object.keys(payload)) {
        const value = payload[field];
        if (value === null) continue;
        const existing = state.byName.get(field);
        if (existing === undefined && (!PROMOTABLE.test(field) || RESERVED.has(field))) continue;
        const t = typeOf(value);
        if (existing !== undefined) {
          if (t === undefined || !compatible(existing, t)) {
            throw Errors.validation(`record ${i}: payload.${field} must be ${existing} (table ${row.table} has it as ${existing})`, {
              index: i,
              field: `payload.${field}`,
              expected: existing,
            });
          }
        } else if (t !== undefined) {
          if (state.byName.size >= MAX_COLUMNS) continue; // beyond the cap a field stays in the payload JSON only
          state.byName.set(field, t);
          state.entry.columns.push({ name: field, type: t });
        }
      }
    }
    const grown: TableEntry[] = [];
    for (const [key, { entry }] of pending) {
      const before = this.cache.get(key);
      if (!before || before.columns.length !== entry.columns.length) {
        entry.updatedAt = Date.now();
        this.cache.set(key, entry);
        grown.push(entry);
      }
    }
    return grown;
  }

  /**
   * Checks the rows (throws on the first conflict, writing nothing), then
   * resolves once the schema of every table they use is in the catalog: the
   * tables they grew, and those another request grew and is still writing.
   */
  async extend(tenant: string, rows: IngestRow[]): Promise<void> {
    for (const e of this.checkAndExtend(tenant, rows)) this.store(tableRefKey(e.tenant, e.table));
    const used = new Set(rows.map((r) => tableRefKey(tenant, r.table)));
    for (const key of used) if (this.unstored.has(key) && !this.storing.has(key)) this.store(key);
    await Promise.all([...used].map((key) => this.storing.get(key)));
  }

  /** Writes a table's schema to the catalog, after any write of it still running, and keeps the write until it ends. */
  private store(key: string): void {
    const previous = this.storing.get(key);
    const write = (async () => {
      await previous?.catch(() => undefined);
      const e = this.cache.get(key);
      if (!e) return; // forgotten meanwhile (its tenant was deleted)
      // Stats are owned by the applier; write schema onto the latest stats.
      const current = (await this.catalog.getTable(e.tenant, e.table)) ?? e;
      await this.catalog.putTable({ ...current, columns: this.columns(e.tenant, e.table) });
    })();
    this.storing.set(key, write);
    const settled = (ok: boolean) => {
      if (this.storing.get(key) !== write) return;
      this.storing.delete(key);
      if (ok) this.unstored.delete(key);
      else this.unstored.add(key);
    };
    write.then(
      () => settled(true),
      () => settled(false),
    );
  }
}

function emptyEntry(tenant: string, table: string): TableEntry {
  const now = Date.now();
  return { tenant, table, columns: [], rowCount: 0, bytes: 0, partitions: 0, minTsMs: null, maxTsMs: null, createdAt: now, updatedAt: now };
}
