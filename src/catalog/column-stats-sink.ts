// Where column statistics computed by workers land, for the CBO to read: in the
// catalog, beside the table (CatalogStore.putColumnStats 'worker').
import { z } from 'zod';
import type { CatalogStore } from './catalog-store.js';

/** A value of a column as JSON has it (a most common value, min, max). */
export type ColumnValue = string | number | boolean;

export interface ColumnStat {
  /** Distinct non-null values in the sample. */
  distinct: number;
  /** Distinct values estimated for the whole table (from the sample and the table's row count). */
  distinctEstimate?: number;
  /** Share of sampled rows where the column is null or absent. */
  nullFraction: number;
  kind?: 'numeric' | 'time' | 'string' | 'bool' | 'mixed' | 'json' | 'empty';
  min?: ColumnValue;
  max?: ColumnValue;
  /** Most common values with their share of all sampled rows, most frequent first. */
  mcv?: Array<{ value: ColumnValue; frequency: number }>;
  /** Equi-depth histogram of numeric and time columns (time as epoch ms): as many sampled values between each pair of bounds. */
  histogram?: { bounds: number[] };
}

export interface ColumnStats {
  columns: Record<string, ColumnStat>;
  sampledRows: number;
  /** Rows the table had when it was sampled. */
  tableRows?: number;
  at: number;
}

export interface ColumnStatsSink {
  write(tenant: string, table: string, stats: ColumnStats): Promise<void>;
  read(tenant: string, table: string): Promise<ColumnStats | undefined>;
}

const value = z.union([z.string().max(1024), z.number().finite(), z.boolean()]);
const fraction = z.number().min(0).max(1);

const columnStat = z
  .object({
    distinct: z.number().int().nonnegative(),
    distinctEstimate: z.number().nonnegative().optional(),
    nullFraction: fraction,
    kind: z.enum(['numeric', 'time', 'string', 'bool', 'mixed', 'json', 'empty']).optional(),
    min: value.optional(),
    max: value.optional(),
    mcv: z.array(z.object({ value, frequency: fraction }).strict()).max(100).optional(),
    histogram: z
      .object({ bounds: z.array(z.number().finite()).min(2).max(257) })
      .strict()
      .refine((h) => h.bounds.every((b, i) => i === 0 || b >= h.bounds[i - 1]!), 'bounds must not decrease')
      .optional(),
  })
  .strict()
  .refine((c) => (c.mcv ?? []).reduce((s, m) => s + m.frequency, 0) + c.nullFraction <= 1 + 1e-6, 'most common values and nulls add up to more than all rows');

/** What a worker must post as the result of a column-stats job. */
export const columnStatsResult = z
  .object({
    columns: z.record(z.string().min(1).max(256), columnStat).refine((c) => Object.keys(c).length <= 10_000, 'at most 10000 columns'),
    sampledRows: z.number().int().nonnegative(),
    tableRows: z.number().int().nonnegative().optional(),
  })
  .strict();


export class CatalogColumnStatsSink implements ColumnStatsSink {
  constructor(private readonly catalog: CatalogStore) {}

  async write(tenant: string, table: string, stats: ColumnStats): Promise<void> {
    await this.catalog.putColumnStats('worker', tenant, table, stats);
  }

  async read(tenant: string, table: string): Promise<ColumnStats | undefined> {
    return this.catalog.getColumnStats<ColumnStats>('worker', tenant, table);
  }
}
