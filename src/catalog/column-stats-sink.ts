// Where column statistics computed by workers land, for the CBO to read: in the
// catalog, beside the table (CatalogStore.putColumnStats 'worker').
import { z } from 'zod';
import type { CatalogStore } from './catalog-store.js';

export interface ColumnStat {
  distinct: number;
  nullFraction: number;
}

export interface ColumnStats {
  columns: Record<string, ColumnStat>;
  sampledRows: number;
  at: number;
}

export interface ColumnStatsSink {
  write(tenant: string, table: string, stats: ColumnStats): Promise<void>;
  read(tenant: string, table: string): Promise<ColumnStats | undefined>;
}

/** What a worker must post as the result of a column-stats job. */
export const columnStatsResult = z.object({
  columns: z
    .record(
      z.string().min(1).max(256),
      z.object({ distinct: z.number().int().nonnegative(), nullFraction: z.number().min(0).max(1) }),
    )
    .refine((c) => Object.keys(c).length <= 10_000, 'at most 10000 columns'),
  sampledRows: z.number().int().nonnegative(),
});


export class CatalogColumnStatsSink implements ColumnStatsSink {
  constructor(private readonly catalog: CatalogStore) {}

  async write(tenant: string, table: string, stats: ColumnStats): Promise<void> {
    await this.catalog.putColumnStats('worker', tenant, table, stats);
  }

  async read(tenant: string, table: string): Promise<ColumnStats | undefined> {
    return this.catalog.getColumnStats<ColumnStats>('worker', tenant, table);
  }
}
