// Cost weights of the optimizer, read and changed through /optimize/config.
// Units are abstract "row work": what matters is their ratio. Stored in the
// state store so every service (and process) plans with the same weights.
import { z } from 'zod';

export const costWeightsSchema = z
  .object({
    clickhouseRowCost: z.number().positive().max(1e6).describe('cost of reading one row from a ClickHouse MergeTree table'),
    parquetRowCost: z.number().positive().max(1e6).describe('cost of reading one row from a Parquet part via file()'),
    parquetFileCost: z.number().nonnegative().max(1e9).describe('fixed cost of opening one Parquet file'),
    parquetEnabled: z.boolean().describe('let the optimizer read Parquet parts (embedded engine only)'),
    joinBuildRowCost: z.number().positive().max(1e6).describe('cost per row put into a join hash table'),
    joinProbeRowCost: z.number().positive().max(1e6).describe('cost per row probing a join hash table'),
    aggregateRowCost: z.number().nonnegative().max(1e6).describe('cost per input row of GROUP BY'),
    sortRowCost: z.number().nonnegative().max(1e6).describe('cost per row sorted (times log2 rows)'),
    defaultSelectivity: z.number().gt(0).max(1).describe('selectivity of a predicate with no usable statistics'),
    likeSelectivity: z.number().gt(0).max(1).describe('selectivity of LIKE'),
  })
  .strict();

export type CostWeights = z.infer<typeof costWeightsSchema>;

export const DEFAULT_WEIGHTS: CostWeights = Object.freeze({
  clickhouseRowCost: 1,
  parquetRowCost: 1.5,
  parquetFileCost: 1_000_000,
  parquetEnabled: true,
  joinBuildRowCost: 2,
  joinProbeRowCost: 1,
  aggregateRowCost: 0.5,
  sortRowCost: 0.2,
  defaultSelectivity: 0.33,
  likeSelectivity: 0.1,
});

/** Rows ClickHouse reads at least when the primary key (data_id) pins a value: one granule. */
export const GRANULE_ROWS = 8192;
