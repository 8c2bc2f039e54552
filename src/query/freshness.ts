// Read-after-write for queries: a query sees every record acknowledged (for the
// tables it reads) before it was received. Acknowledged means durable in the
// WAL; a query reads what the applier has moved into ClickHouse, Parquet and
// the catalog. So before planning, the query waits until the applier has
// applied through the last LSN acknowledged for its tables, bounded by
// QUERY_FRESHNESS_WAIT_MS and the query's own timeout. "eventual" skips the
// wait. Either way the answer says how fresh it is.
//
// The query layer knows neither ingest nor the applier (layers); boot hands it
// this narrow view of both.
import { Errors } from '../platform/errors.js';

export type Consistency = 'read-after-write' | 'eventual';

export interface Freshness {
  /** Everything through this LSN is applied and visible to queries. */
  appliedLsn: number;
  /** The last LSN acknowledged for the tables the query reads when it was received. */
  requiredLsn: number;
  /** How long the query waited for the applier. */
  waitedMs: number;
}

export interface AppliedLsnSource {
  /** Highest LSN acknowledged for (tenant, table) since the process started, or replayed from the WAL; 0 when none. */
  acknowledgedLsn(tenant: string, table: string): number;
  /** Highest LSN applied to every sink and committed in the catalog. */
  appliedLsn(): number;
  /** Resolves once everything through `lsn` is applied (the applier starts on it at once); rejects when `signal` aborts. */
  waitForApplied(lsn: number, signal: AbortSignal): Promise<void>;
  /** The applier's backlog, for the message of a query that could not wait long enough. */
  lag(): { records: number; seconds: number };
}

export interface FreshnessGateOptions {
  source: AppliedLsnSource | undefined;
  /** Longest a query waits for the applier before answering 503 not_fresh. */
  maxWaitMs: number;
  /** Every wait that happened, and how it ended (metrics). */
  onWait?: (seconds: number, outcome: 'fresh' | 'not_fresh' | 'cancelled') => void;
}

export class FreshnessGate {
  constructor(private readonly opts: FreshnessGateOptions) {}

  /** Where the applier stands for these tables, without waiting. */
  snapshot(tenant: string, tables: readonly string[]): Freshness {
    const source = this.opts.source;
    if (!source) return { appliedLsn: 0, requiredLsn: 0, waitedMs: 0 };
    let requiredLsn = 0;
    for (const t of tables) requiredLsn = Math.max(requiredLsn, source.acknowledgedLsn(tenant, t));
    return { appliedLsn: source.appliedLsn(), requiredLsn, waitedMs: 0 };
  }

  /**
   * Waits (unless `eventual`) until the applier has caught up with what was
   * acknowledged for the tables, for at most min(QUERY_FRESHNESS_WAIT_MS,
   * budgetMs). `signal` is the query's own (cancel, timeout). Throws 503
   * not_fresh when the bound runs out first.
   */
  async await(tenant: string, tables: readonly string[], consistency: Consistency, signal: AbortSignal, budgetMs: number): Promise<Freshness> {
    const now = this.snapshot(tenant, tables);
    const source = this.opts.source;
    if (consistency === 'eventual' || !source || now.appliedLsn >= now.requiredLsn) return now;
    const boundMs = Math.max(0, Math.min(this.opts.maxWaitMs, budgetMs));
    const t0 = performance.now();
    const bound = new AbortController();
    const timer = setTimeout(() => bound.abort(), boundMs);
    const onAbort = () => bound.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await source.waitForApplied(now.requiredLsn, bound.signal);
      this.opts.onWait?.((performance.now() - t0) / 1000, 'fresh');
    } catch (err) {
      // The query's own cancel wins; its timeout is the bound running out.
      if (signal.aborted && !isTimeout(signal.reason)) {
        this.opts.onWait?.((performance.now() - t0) / 1000, 'cancelled');
        throw signal.reason ?? err;
      }
      if (!bound.signal.aborted) throw err;
      const waitedMs = round(performance.now() - t0);
      this.opts.onWait?.(waitedMs / 1000, 'not_fresh');
      throw Errors.notFresh({ requiredLsn: now.requiredLsn, appliedLsn: source.appliedLsn(), waitedMs, lag: source.lag() });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    // Never 0 once it waited: the caller re-plans after a wait (the catalog moved on).
    return { appliedLsn: source.appliedLsn(), requiredLsn: now.requiredLsn, waitedMs: Math.max(0.01, round(performance.now() - t0)) };
  }
}

function isTimeout(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && (reason as { code?: unknown }).code === 'query_timeout';
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The Freshness of an answer as one response header value (streams carry it there). */
export function freshnessHeader(f: Freshness): string {
  return `appliedLsn=${f.appliedLsn}, requiredLsn=${f.requiredLsn}, waitedMs=${f.waitedMs}`;
}

export const FRESHNESS_HEADER = 'X-Query-Freshness';
