// Multi-tenant data for query tests, written the way the applier writes it:
// ClickHouse rows (insertIdempotent), Parquet parts (ParquetSink) and catalog
// entries committed together. Values are deterministic; tenant `globex` uses
// the same table names and overlapping data_ids but values that never occur
// in `acme` (negative amounts, country 'ZZ', names starting 'globex-'), so a
// leaked row is easy to spot.
import { partEntryOf, type CatalogStore, type PartEntry, type TableEntry } from '../../src/catalog/catalog-store.js';
import type { TenantTables } from '../../src/storage/clickhouse/tenant-tables.js';
import type { ParquetSink } from '../../src/storage/parquet/index.js';
import type { ColumnSpec, StoredRecord } from '../../src/storage/record-types.js';

export const BASE_TS = Date.UTC(2026, 9, 15); // 2026-10-15, so the data spans October and November
export const DAY_MS = 86_400_000;

const COUNTRIES = ['NL', 'DE', 'FR', 'BE', 'US'];
const PAGES = ['/', '/buy', '/cart', '/help', '/about'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface TenantData {
  tenant: string;
  events: StoredRecord[];
  users: StoredRecord[];
}

export const EVENT_COLUMNS: ColumnSpec[] = [
  { name: 'amount', type: 'Float64' },
  { name: 'country', type: 'String' },
  { name: 'page', type: 'String' },
  { name: 'paid', type: 'Bool' },
  { name: 'user_id', type: 'String' },
];
export const USER_COLUMNS: ColumnSpec[] = [
  { name: 'name', type: 'String' },
  { name: 'country', type: 'String' },
  { name: 'age', type: 'Float64' },
];

export function makeTenantData(tenant: string, opts: { events: number; users: number; hostile: boolean; seed: number }): TenantData {
  const r = rng(opts.seed);
  let lsn = 1;
  const users: StoredRecord[] = [];
  for (let i = 0; i < opts.users; i++) {
    const payload: Record<string, unknown> = {
      name: opts.hostile ? `globex-user-${i}` : `user ${i}${i % 7 === 0 ? " O'Brien" : ''}`,
      country: opts.hostile ? 'ZZ' : COUNTRIES[i % COUNTRIES.length],
    };
    if (i % 5 !== 0) payload.age = opts.hostile ? -1 - i : 18 + Math.floor(r() * 60);
    users.push({ dataId: `u${i}`, tsMs: BASE_TS + i * 1000, lsn: lsn++, payload });
  }
  const events: StoredRecord[] = [];
  for (let i = 0; i < opts.events; i++) {
    const payload: Record<string, unknown> = {
      amount: opts.hostile ? -1 - Math.round(r() * 1000) : Math.round(r() * 100_000) / 100,
      country: opts.hostile ? 'ZZ' : COUNTRIES[Math.floor(r() * COUNTRIES.length)],
      page: opts.hostile ? 'globex-page' : PAGES[Math.floor(r() * PAGES.length)],
      user_id: `u${Math.floor(r() * (opts.users + 10))}`,
    };
    if (i % 4 !== 0) payload.paid = r() < 0.5;
    if (i % 11 === 0) delete payload.amount;
    events.push({ dataId: `e${i}`, tsMs: BASE_TS + Math.floor((i / opts.events) * 45 * DAY_MS), lsn: lsn++, payload });
  }
  return { tenant, events, users };
}

/** Writes one tenant table to ClickHouse, Parquet and the catalog, like one applier batch. */
export async function loadTable(
  deps: { tables: TenantTables; parquet: ParquetSink; catalog: CatalogStore },
  tenant: string,
  table: string,
  columns: ColumnSpec[],
  records: StoredRecord[],
): Promise<void> {
  await deps.tables.ensureTable(tenant, table, columns);
  await deps.tables.insertIdempotent(tenant, table, columns, records);
  const written = await deps.parquet.writeBatch(tenant, table, columns, records);
  const now = Date.now();
  const entry: TableEntry = {
    tenant,
    table,
    columns,
    rowCount: records.length,
    bytes: written.reduce((s, p) => s + p.bytes, 0),
    partitions: written.length,
    minTsMs: Math.min(...records.map((r) => r.tsMs)),
    maxTsMs: Math.max(...records.map((r) => r.tsMs)),
    createdAt: now,
    updatedAt: now,
  };
  const parts: PartEntry[] = written.map(partEntryOf);
  await deps.catalog.commitBatch({ tables: [entry], parts, checkpoint: 0 });
}

export async function loadTenant(deps: Parameters<typeof loadTable>[0], data: TenantData): Promise<void> {
  await loadTable(deps, data.tenant, 'events', EVENT_COLUMNS, data.events);
  await loadTable(deps, data.tenant, 'users', USER_COLUMNS, data.users);
}
