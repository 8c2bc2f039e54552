// Several ClickHouse servers of one cluster behind the one engine interface
// (cluster mode: CLICKHOUSE_URL lists several nodes). Each call goes to the
// next node in turn; a node whose connection fails is quarantined briefly and
// the call moves on to the next node, so a dead node costs one refused
// connection, not an error. Only transport failures move a call: an answer
// from ClickHouse (bad SQL, quorum not reached, read-only table) is the
// caller's to judge (cluster-errors.ts), since another node would say the same
// or the outcome is not known.
//
// Moving an INSERT is safe only because cluster mode writes replicated tables:
// if the failed node did take the block, re-sending the identical block
// elsewhere is absorbed by the replicated tables' block deduplication. DDL is
// moved too, so it must be idempotent (IF NOT EXISTS; a duplicate column is
// checked by the caller). Statements that must run on every node (a
// Distributed table, a tenant database) go through onEveryNode().

import { Errors } from '../../platform/errors.js';
import type { ClickHouseEngine, QueryOptions, RawBlock, RawFormat, RawQueryOptions } from './clickhouse-engine.js';
import { isNodeUnreachable } from './cluster-errors.js';
import { NodeRotation, type NodeStanding } from './node-rotation.js';
import { ServerEngine, type CallSettings, type ServerEngineOptions } from './server-engine.js';

export interface MultiNodeEngineOptions extends Omit<ServerEngineOptions, 'url'> {
  urls: readonly string[];
  /** How long a node that did not answer is skipped. */
  quarantineMs?: number;
  /**
   * Cluster mode: every node starts held (out of rotation) and a node that
   * stops answering is held again, until releaseHold(); see NodeRotation.
   */
  holdUntilChecked?: boolean;
  now?: () => number;
}

/** One server of the cluster, for statements that must reach that node. */
export interface ClusterNodeEngine {
  readonly url: string;
  readonly engine: ServerEngine;
}

export type NodeOutcome<T> = { url: string; ok: true; value: T } | { url: string; ok: false; error: unknown };

export const DEFAULT_NODE_QUARANTINE_MS = 5000;

export class MultiNodeEngine implements ClickHouseEngine {
  readonly kind = 'server' as const;
  readonly database: string;
  readonly nodes: readonly ClusterNodeEngine[];
  private readonly rotation: NodeRotation<ClusterNodeEngine>;
  private readonly opened = new Set<ClusterNodeEngine>();
  private readonly holdUntilChecked: boolean;
  private closed = true;

  constructor(opts: MultiNodeEngineOptions) {
    if (opts.urls.length === 0) throw new Error('MultiNodeEngine needs at least one URL');
    const { urls, quarantineMs, now, holdUntilChecked, ...serverOpts } = opts;
    this.holdUntilChecked = holdUntilChecked ?? false;
    this.database = opts.database;
    this.nodes = urls.map((url) => ({ url, engine: new ServerEngine({ ...serverOpts, url }) }));
    this.rotation = new NodeRotation(
      this.nodes.map((n) => ({ url: n.url, node: n })),
      quarantineMs ?? DEFAULT_NODE_QUARANTINE_MS,
      now,
    );
    if (this.holdUntilChecked) for (const n of this.nodes) this.rotation.hold(n, 'not checked yet');
  }

  /**
   * Opens every node it can reach (each creates the base database on its
   * server); one reachable node is enough, the others open on first use.
   */
  async open(): Promise<void> {
    this.closed = false;
    const outcomes = await Promise.all(this.nodes.map((n) => this.tryOpen(n)));
    if (outcomes.every((o) => !o.ok)) throw this.noNodeError('open', outcomes);
  }

  async ping(): Promise<void> {
    await this.onSomeNode('ping', (e) => e.ping());
  }

  async exec(sql: string, opts: { signal?: AbortSignal } & CallSettings = {}): Promise<void> {
    await this.onSomeNode('exec', (e) => e.exec(sql, opts));
  }

  async query<T = Record<string, unknown>>(sql: string, opts: QueryOptions & CallSettings = {}): Promise<T[]> {
    return this.onSomeNode('query', (e) => e.query<T>(sql, opts));
  }

  queryStream(sql: string, opts: QueryOptions & CallSettings = {}): AsyncIterable<Record<string, unknown>> {
    return this.streamFromSomeNode('stream', (e) => e.queryStream(sql, opts));
  }

  queryRaw(sql: string, format: RawFormat, opts: RawQueryOptions & CallSettings = {}): AsyncIterable<RawBlock> {
    return this.streamFromSomeNode('stream', (e) => e.queryRaw(sql, format, opts));
  }

  /** Every node runs the same server version: ask any live one. */
  async writesFormat(format: RawFormat): Promise<boolean> {
    return this.onSomeNode('query', (e) => e.writesFormat(format));
  }

  /**
   * A stream can move to another node only until its first item: after that
   * the caller has data from this node, and a restart elsewhere would repeat it.
   */
  private async *streamFromSomeNode<T>(what: 'stream', open: (engine: ServerEngine) => AsyncIterable<T>): AsyncIterable<T> {
    const failures: NodeOutcome<never>[] = [];
    for (const node of this.rotation.order()) {
      let items: AsyncIterator<T>;
      let first: IteratorResult<T>;
      try {
        ({ items, first } = await this.attempt(node, async (e) => {
          const it = open(e)[Symbol.asyncIterator]();
          return { items: it, first: await it.next() };
        }));
      } catch (err) {
        if (!isNodeUnreachable(err)) throw err;
        failures.push({ url: node.url, ok: false, error: err });
        continue;
      }
      try {
        for (let r = first; !r.done; r = await items.next()) yield r.value;
      } finally {
        // A consumer that stops early ends this generator at its yield; the
        // node's stream must end too, or its socket stays open.
        await items.return?.();
      }
      return;
    }
    throw this.noNodeError(what, failures);
  }

  async insertJsonLines(table: string, lines: string, opts: CallSettings = {}): Promise<void> {
    if (lines.length === 0) return;
    await this.onSomeNode('insert', (e) => e.insertJsonLines(table, lines, opts));
  }

  /**
   * Runs `fn` on every node at once and reports each outcome; never throws for
   * a node's failure. For what must exist on every node (a Distributed table,
   * a tenant database): the caller decides what a missed node means.
   */
  async onEveryNode<T>(fn: (engine: ServerEngine, url: string) => Promise<T>): Promise<NodeOutcome<T>[]> {
    return Promise.all(
      this.nodes.map(async (node): Promise<NodeOutcome<T>> => {
        try {
          return { url: node.url, ok: true, value: await this.attempt(node, (e) => fn(e, node.url)) };
        } catch (err) {
          return { url: node.url, ok: false, error: err };
        }
      }),
    );
  }

  /** Runs `fn` on one node, held or not; a node that does not answer is quarantined (and held) and the error thrown. */
  async onNode<T>(url: string, fn: (engine: ServerEngine) => Promise<T>): Promise<T> {
    return this.attempt(this.node(url), fn);
  }

  /** Leaves the node out of rotation until releaseHold(url). */
  hold(url: string, reason: string): void {
    this.rotation.hold(this.node(url), reason);
  }

  releaseHold(url: string): void {
    this.rotation.unhold(this.node(url));
  }

  isHeld(url: string): boolean {
    return this.rotation.isHeld(this.node(url));
  }

  /** It failed to answer a moment ago (its quarantine has not run out). */
  isQuarantined(url: string): boolean {
    return this.rotation.isQuarantined(this.node(url));
  }

  /** Each node's standing as this engine sees it (for /nodes/status). */
  standings(): NodeStanding[] {
    return this.rotation.standings();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opened.clear();
    await Promise.all(this.nodes.map((n) => n.engine.close()));
  }

  private async onSomeNode<T>(what: string, fn: (engine: ServerEngine) => Promise<T>): Promise<T> {
    const failures: NodeOutcome<never>[] = [];
    for (const node of this.rotation.order()) {
      try {
        return await this.attempt(node, fn);
      } catch (err) {
        if (!isNodeUnreachable(err)) throw err;
        failures.push({ url: node.url, ok: false, error: err });
      }
    }
    throw this.noNodeError(what, failures);
  }

  /**
   * One call on one node: opened first if need be, back in rotation once it
   * answers; a node that does not answer is quarantined (and held) and the
   * error thrown, as is any other error.
   */
  private async attempt<T>(node: ClusterNodeEngine, fn: (engine: ServerEngine) => Promise<T>): Promise<T> {
    try {
      await this.ensureOpen(node);
      const value = await fn(node.engine);
      this.rotation.release(node);
      return value;
    } catch (err) {
      if (isNodeUnreachable(err)) this.unreachable(node, err);
      throw err;
    }
  }

  private unreachable(node: ClusterNodeEngine, err: unknown): void {
    this.rotation.quarantine(node, messageOf(err));
    // It may restart having missed schema changes: checked again before it takes calls.
    if (this.holdUntilChecked) this.rotation.hold(node, 'stopped answering; waiting to be checked');
  }

  private node(url: string): ClusterNodeEngine {
    const node = this.nodes.find((n) => n.url === url);
    if (!node) throw new Error(`${url} is not a node of this engine`);
    return node;
  }

  private async ensureOpen(node: ClusterNodeEngine): Promise<void> {
    if (this.closed) throw Errors.storageFailure('ClickHouse engine is not open');
    if (this.opened.has(node)) return;
    await node.engine.open();
    this.opened.add(node);
  }

  private async tryOpen(node: ClusterNodeEngine): Promise<NodeOutcome<void>> {
    try {
      await this.ensureOpen(node);
      return { url: node.url, ok: true, value: undefined };
    } catch (err) {
      this.unreachable(node, err);
      return { url: node.url, ok: false, error: err };
    }
  }

  private noNodeError(what: string, failures: NodeOutcome<unknown>[]): Error {
    const detail = failures.map((f) => `${f.url}: ${f.ok ? 'ok' : messageOf(f.error)}`).join('; ');
    const last = failures.at(-1);
    return Errors.storageFailure(
      `ClickHouse ${what} failed: no node of ${this.nodes.length} answered (${detail})`,
      last && !last.ok ? last.error : undefined,
    );
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
