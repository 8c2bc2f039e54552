// Every query the executor runs: id, tenant, state, rows so far, elapsed.
// Running queries hold an AbortController; cancelling (DELETE /query/:id) or
// the per-query timeout aborts it, and the engine adapters turn an abort into
// KILL QUERY, so the engine stops too. Finished queries stay listed for a while
// (bounded) so /query/status can still answer after the response is done.
// Listeners (the query log) hear of every query when it ends, and of queries
// refused before they ran (rejected()).
import { randomUUID } from 'node:crypto';
import { Errors, isAppError } from '../platform/errors.js';
import type { QueryStatement } from './query-statement.js';

export type { QueryStatement } from './query-statement.js';

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
  /** The owner's role when it started the query. */
  role?: string;
  /** Result bytes sent so far. */
  bytes: number;
  error?: string;
  /** The stable code of the error it ended with (query_cancelled, invalid_query…). */
  errorCode?: string;
}

/** Who runs a query and from where, as the caller knows it. */
export interface QueryCaller {
  /** Principal name; a cancel by anyone else is audited. */
  owner?: string;
  role?: string;
  userAgent?: string;
}

export interface QueryStartMeta extends QueryCaller {
  timeoutMs: number;
  via: string;
  format: string;
  /** What it runs: kept beside QueryInfo, never in it (operators see QueryInfo, and only the normalized text). */
  statement?: QueryStatement;
}

/** A query that ended (or was refused before it ran), for the query log. */
export interface EndedQuery {
  info: QueryInfo;
  statement?: QueryStatement;
  userAgent?: string;
  /** Epoch ms. */
  startedAtMs: number;
  endedAtMs: number;
}

interface Entry {
  info: Omit<QueryInfo, 'elapsedMs'>;
  statement?: QueryStatement;
  userAgent?: string;
  startedAtMs: number;
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

  addBytes(n: number): void {
    this.entry.info.bytes += n;
  }

  finish(): void {
    this.registry.settle(this.entry, 'finished');
  }

  /** Records the failure and returns the error the caller should see (cancel/timeout reasons win). */
  fail(err: unknown): unknown {
    const reason = this.entry.controller.signal.aborted ? this.entry.controller.signal.reason : undefined;
    const state: QueryState = this.entry.info.state !== 'running' ? this.entry.info.state : 'failed';
    const shown = reason ?? err;
    this.registry.settle(this.entry, state, shown instanceof Error ? shown.message : String(shown), errorCodeOf(shown));
    return shown;
  }

  /** The client went away: stop the engine, record it as cancelled. */
  abandon(): void {
    if (this.entry.info.state === 'running') this.registry.cancelEntry(this.entry, CLIENT_GONE);
  }
}

export class QueryRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Entries not settled yet: the few in flight, so a start need not walk the finished ones kept for /query/status. */
  private readonly unsettled = new Set<Entry>();
  private readonly finishedOrder: string[] = [];
  readonly counters = { started: 0, finished: 0, failed: 0, cancelled: 0, timeout: 0 };
  private readonly endListeners: Array<(q: EndedQuery) => void> = [];

  constructor(
    private readonly limits: { maxConcurrentPerTenant: number },
    /** Called once per query when it ends (metrics). */
    private readonly onSettled?: (info: QueryInfo) => void,
  ) {}

  /** Hears of every query once, when it ends; must not throw or block (the query log buffers). */
  onEnded(listener: (q: EndedQuery) => void): void {
    this.endListeners.push(listener);
  }

  start(tenant: string, meta: QueryStartMeta): QueryHandle {
    let running = 0;
    for (const e of this.unsettled) if (e.info.tenant === tenant && e.info.state === 'running') running++;
    if (running >= this.limits.maxConcurrentPerTenant) {
      throw this.rejected(tenant, meta, Errors.rateLimited(`tenant ${tenant} already runs ${running} queries (limit ${this.limits.maxConcurrentPerTenant})`, 1));
    }
    const id = randomUUID();
    const startedAtMs = Date.now();
    const entry: Entry = {
      info: {
        id,
        tenant,
        state: 'running',
        rows: 0,
        bytes: 0,
        startedAt: new Date(startedAtMs).toISOString(),
        via: meta.via,
        format: meta.format,
        ...(meta.owner ? { owner: meta.owner } : {}),
        ...(meta.role ? { role: meta.role } : {}),
      },
      ...(meta.statement ? { statement: meta.statement } : {}),
      ...(meta.userAgent ? { userAgent: meta.userAgent } : {}),
      startedAtMs,
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
    this.unsettled.add(entry);
    this.counters.started++;
    return new QueryHandle(this, entry);
  }

  get(id: string, tenant?: string): QueryInfo | undefined {
    const e = this.entries.get(id);
    if (!e || (tenant !== undefined && e.info.tenant !== tenant)) return undefined;
    return this.view(e);
  }

  /** What a query of the registry runs (for the console; who may see the text is the caller's to decide). */
  statementOf(id: string): QueryStatement | undefined {
    return this.entries.get(id)?.statement;
  }

  /**
   * A query refused before it was registered (it does not parse, names what
   * does not exist, the tenant is over its limit): listeners hear of it as
   * failed, with no running time. Returns `err` for the caller to throw.
   */
  rejected(tenant: string, meta: QueryStartMeta, err: unknown): unknown {
    if (this.endListeners.length === 0) return err;
    const now = Date.now();
    const info: QueryInfo = {
      id: randomUUID(),
      tenant,
      state: 'failed',
      rows: 0,
      bytes: 0,
      startedAt: new Date(now).toISOString(),
      elapsedMs: 0,
      via: meta.via,
      format: meta.format,
      ...(meta.owner ? { owner: meta.owner } : {}),
      ...(meta.role ? { role: meta.role } : {}),
      error: err instanceof Error ? err.message : String(err),
      errorCode: errorCodeOf(err),
    };
    this.emit({ info, ...(meta.statement ? { statement: meta.statement } : {}), ...(meta.userAgent ? { userAgent: meta.userAgent } : {}), startedAtMs: now, endedAtMs: now });
    return err;
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

  settle(e: Entry, state: QueryState, error?: string, errorCode?: string): void {
    if (e.finished !== undefined) return;
    e.finished = performance.now();
    this.unsettled.delete(e);
    if (e.timer) clearTimeout(e.timer);
    e.info.state = state;
    if (error !== undefined && e.info.error === undefined) e.info.error = error;
    if (errorCode !== undefined && e.info.errorCode === undefined) e.info.errorCode = errorCode;
    this.counters[state === 'running' ? 'finished' : state]++;
    const view = this.view(e);
    this.onSettled?.(view);
    if (this.endListeners.length > 0) {
      const endedAtMs = e.startedAtMs + Math.round(e.finished - e.started);
      this.emit({ info: view, ...(e.statement ? { statement: e.statement } : {}), ...(e.userAgent ? { userAgent: e.userAgent } : {}), startedAtMs: e.startedAtMs, endedAtMs });
    }
    // Only running queries show their text (the console); the log has it now. Up to 1000 finished entries stay small.
    delete e.statement;
    this.finishedOrder.push(e.info.id);
    while (this.finishedOrder.length > KEEP_FINISHED) this.entries.delete(this.finishedOrder.shift()!);
  }

  /** Aborts everything still running (shutdown). */
  abortAll(): void {
    for (const e of this.unsettled) if (e.info.state === 'running') this.cancelEntry(e, 'server shutting down');
  }

  private emit(q: EndedQuery): void {
    for (const listener of this.endListeners) {
      try {
        listener(q);
      } catch {
        // A listener's trouble is its own (it counts what it drops); the query path goes on.
      }
    }
  }

  private view(e: Entry): QueryInfo {
    const end = e.finished ?? performance.now();
    return { ...e.info, elapsedMs: Math.round((end - e.started) * 100) / 100 };
  }
}

/** The stable code of an error (AppError's), internal_error for anything else. */
function errorCodeOf(err: unknown): string {
  return isAppError(err) ? err.code : 'internal_error';
}
