// Where column statistics computed by workers land, for the CBO to read: the
// `catalog` sublevel under `colstats\0<tenant>\0<table>` (physical-names.ts).
import { z } from 'zod';
import type { StateStore } from '../platform/state-store.js';
import { workerColumnStatsKey } from '../storage/physical-names.js';

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

export const columnStatsKey = workerColumnStatsKey;

export class StateStoreColumnStatsSink implements ColumnStatsSink {
  constructor(private readonly state: () => StateStore) {}

  async write(tenant: string, table: string, stats: ColumnStats): Promise<void> {
    await this.state().sublevel<ColumnStats>('catalog').put(columnStatsKey(tenant, table), stats);
  }

  async read(tenant: string, table: string): Promise<ColumnStats | undefined> {
    return this.state().sublevel<ColumnStats>('catalog').get(columnStatsKey(tenant, table));
  }
}
