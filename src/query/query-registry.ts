// Every query the executor runs: id, tenant, state, rows so far, elapsed.
// Running queries hold an AbortController; cancelling (DELETE /query/:id) or
// the per-query timeout aborts it, and the engine adapters turn an abort into
// KILL QUERY, so the engine stops too. Finished queries stay listed for a while
// (bounded) so /query/status can still answer after the response is done.
import { randomUUID } from 'node:crypto';
import { Errors } from '../platform/errors.js';

export type QueryState = 'running' | 'finished' | 'failed' | 'cancelled' | 'timeout';

export interface QueryInfo {
  id: string;
  tenant: string;
  state: QueryState;
  rows: number;
  startedAt: string;
  elapsedMs: number;
  via: string;
  format: string;
  /** Who started it (principal name, e.g. apiKey:0123…). */
  owner?: string;
  error?: string;
}

interface Entry {
  info: Omit<QueryInfo, 'elapsedMs'>;
  started: number;
  finished?: number;
  controller: AbortController;
  timer?: NodeJS.Timeout;
}

const KEEP_FINISHED = 1000;
/** The `error` of a query whose client went away before its answer was complete. */
export const CLIENT_GONE = 'client disconnected';

export class QueryHandle {
  constructor(
    private readonly registry: QueryRegistry,
    private readonly entry: Entry,
  ) {}

  get id(): string {
    return this.entry.info.id;
  }

  get signal(): AbortSignal {
    return this.entry.controller.signal;
  }

  addRows(n: number): void {
    this.entry.info.rows += n;
  }

  finish(): void {
    this.registry.settle(this.entry, 'finished');
  }

  /** Records the failure and returns the error the caller should see (cancel/timeout reasons win). */
  fail(err: unknown): unknown {
    const reason = this.entry.controller.signal.aborted ? this.entry.controller.signal.reason : undefined;
    const state: QueryState = this.entry.info.state !== 'running' ? this.entry.info.state : 'failed';
    const shown = reason ?? err;
    this.registry.settle(this.entry, state, shown instanceof Error ? shown.message : String(shown));
    return shown;
  }

  /** The client went away: stop the engine, record it as cancelled. */
  abandon(): void {
    if (this.entry.info.state === 'running') this.registry.cancelEntry(this.entry, CLIENT_GONE);
  }
}

export class QueryRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly finishedOrder: string[] = [];
  readonly counters = { started: 0, finished: 0, failed: 0, cancelled: 0, timeout: 0 };

  constructor(
    private readonly limits: { maxConcurrentPerTenant: number },
    /** Called once per query when it ends (metrics). */
    private readonly onSettled?: (info: QueryInfo) => void,
  ) {}

  start(tenant: string, meta: { timeoutMs: number; via: string; format: string; owner?: string }): QueryHandle {
    const running = [...this.entries.values()].filter((e) => e.info.tenant === tenant && e.info.state === 'running').length;
    if (running >= this.limits.maxConcurrentPerTenant) {
      throw Errors.rateLimited(`tenant ${tenant} already runs ${running} queries (limit ${this.limits.maxConcurrentPerTenant})`, 1);
    }
    const id = randomUUID();
    const entry: Entry = {
      info: { id, tenant, state: 'running', rows: 0, startedAt: new Date().toISOString(), via: meta.via, format: meta.format, ...(meta.owner ? { owner: meta.owner } : {}) },
      started: performance.now(),
      controller: new AbortController(),
    };
    entry.timer = setTimeout(() => {
      if (entry.info.state !== 'running') return;
      entry.info.state = 'timeout';
      entry.controller.abort(Errors.queryTimeout(id, meta.timeoutMs));
    }, meta.timeoutMs);
    entry.timer.unref();
    this.entries.set(id, entry);
    this.counters.started++;
    return new QueryHandle(this, entry);
  }

  get(id: string, tenant?: string): QueryInfo | undefined {
    const e = this.entries.get(id);
    if (!e || (tenant !== undefined && e.info.tenant !== tenant)) return undefined;
    return this.view(e);
  }

  list(filter: { tenant?: string; state?: QueryState } = {}): QueryInfo[] {
    return [...this.entries.values()]
      .filter((e) => (filter.tenant === undefined || e.info.tenant === filter.tenant) && (filter.state === undefined || e.info.state === filter.state))
      .map((e) => this.view(e));
  }

  /** Cancels a running query of `tenant` (undefined: any tenant, for admins). */
  cancel(id: string, tenant: string | undefined): QueryInfo {
    const e = this.entries.get(id);
    if (!e || (tenant !== undefined && e.info.tenant !== tenant)) throw Errors.notFound(`query ${id}`);
    if (e.info.state !== 'running') throw Errors.conflict(`query ${id} is already ${e.info.state}`);
    this.cancelEntry(e, 'cancelled on request');
    return this.view(e);
  }

  cancelEntry(e: Entry, why: string): void {
    e.info.state = 'cancelled';
    e.info.error = why;
    e.controller.abort(Errors.queryCancelled(e.info.id));
  }

  settle(e: Entry, state: QueryState, error?: string): void {
    if (e.finished !== undefined) return;
    e.finished = performance.now();
    if (e.timer) clearTimeout(e.timer);
    e.info.state = state;
    if (error !== undefined && e.info.error === undefined) e.info.error = error;
    this.counters[state === 'running' ? 'finished' : state]++;
    this.onSettled?.(this.view(e));
    this.finishedOrder.push(e.info.id);
    while (this.finishedOrder.length > KEEP_FINISHED) this.entries.delete(this.finishedOrder.shift()!);
  }

  /** Aborts everything still running (shutdown). */
  abortAll(): void {
    for (const e of this.entries.values()) if (e.info.state === 'running') this.cancelEntry(e, 'server shutting down');
  }

  private view(e: Entry): QueryInfo {
    const end = e.finished ?? performance.now();
    return { ...e.info, elapsedMs: Math.round((end - e.started) * 100) / 100 };
  }
}
