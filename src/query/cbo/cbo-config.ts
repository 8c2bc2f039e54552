// The optimizer's cost weights, persisted by the catalog so every service and process plans with the same numbers. Reads
// are cached briefly; a PUT through this store is visible at once here and
// within CACHE_MS in other processes.
import type { CatalogStore } from '../../catalog/catalog-store.js';
import { costWeightsSchema, DEFAULT_WEIGHTS, type CostWeights } from './cost-model.js';

const CACHE_MS = 1000;

interface Stored {
  weights: CostWeights;
  version: number;
  updatedAt: number;
}

export class CboConfigStore {
  private cached: { value: Stored; at: number } | undefined;

  constructor(private readonly catalog: () => Pick<CatalogStore, 'getOptimizerWeights' | 'putOptimizerWeights'>) {}

  async get(): Promise<Stored> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const raw = await this.catalog().getOptimizerWeights<Stored>();
    // Weights saved by an older version may lack a newer key: defaults fill it.
    const parsed = raw ? costWeightsSchema.safeParse({ ...DEFAULT_WEIGHTS, ...raw.weights }) : undefined;
    const value: Stored = parsed?.success ? { ...raw!, weights: parsed.data } : { weights: { ...DEFAULT_WEIGHTS }, version: 0, updatedAt: 0 };
    this.cached = { value, at: Date.now() };
    return value;
  }

  /** Merges a validated partial update over the current weights. */
  async put(patch: Partial<CostWeights>): Promise<Stored> {
    const current = await this.get();
    const weights = costWeightsSchema.parse({ ...current.weights, ...patch });
    const value: Stored = { weights, version: current.version + 1, updatedAt: Date.now() };
    await this.catalog().putOptimizerWeights(value);
    this.cached = { value, at: Date.now() };
    return value;
  }
}
