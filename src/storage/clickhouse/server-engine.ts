// A ClickHouse server over HTTP via @clickhouse/client. Must work against 18.16
// (Debian's package) as well as current servers, so it relies on nothing newer
// than the HTTP interface, JSONEachRow and URL-passed settings.

import { randomUUID } from 'node:crypto';
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { Errors } from '../../platform/errors.js';
import { ENGINE_SETTINGS, RAW_FORMAT_SETTINGS, type ClickHouseEngine, type QueryOptions, type RawBlock, type RawFormat, type RawQueryOptions } from './clickhouse-engine.js';
import { isUnknownTableError, throwIfAborted, toEngineError } from './engine-errors.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

export interface ServerEngineOptions {
  url: string;
  database: string;
  username?: string;
  password?: string;
  requestTimeoutMs: number;
}

/**
 * Settings for one call, sent with the request (URL parameters). Only the
 * server engine takes them: cluster mode needs insert_quorum,
 * insert_distributed_sync, select_sequential_consistency and the like per
 * statement, which the embedded engine has no use for.
 */
export interface CallSettings {
  settings?: ClickHouseSettings;
}

export class ServerEngine implements ClickHouseEngine {
  readonly kind = 'server' as const;
  readonly database: string;
  private readonly opts: ServerEngineOptions;
  private client: ClickHouseClient | undefined;

  constructor(opts: ServerEngineOptions) {
    this.opts = opts;
    this.database = opts.database;
  }

  async open(): Promise<void> {
    if (this.client) return;
    // The database must exist before a client may name it as its default, so
    // a throwaway client on `default` creates it first.
    const bootstrap = this.newClient('default');
    try {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(this.database)}` });
    } catch (err) {
      throw toEngineError(err, 'open');
    } finally {
      await bootstrap.close();
    }
    this.client = this.newClient(this.database);
  }

  async ping(): Promise<void> {
    const res = await this.requireClient().ping();
    if (!res.success) throw toEngineError(res.error, 'ping');
  }

  async exec(sql: string, opts: { signal?: AbortSignal } & CallSettings = {}): Promise<void> {
    const client = this.requireClient();
    throwIfAborted(opts.signal);
    const queryId = randomUUID();
    const stopKill = this.killOnAbort(queryId, opts.signal);
    try {
      await client.command({ query: sql, ...queryParams(opts, queryId) });
    } catch (err) {
      throw toEngineError(err, 'exec', opts.signal);
    } finally {
      stopKill();
    }
  }

  async query<T = Record<string, unknown>>(sql: string, opts: QueryOptions & CallSettings = {}): Promise<T[]> {
    const client = this.requireClient();
    throwIfAborted(opts.signal);
    const queryId = opts.queryId ?? randomUUID();
    const stopKill = this.killOnAbort(queryId, opts.signal);
    try {
      const rs = await client.query({ query: sql, format: 'JSONEachRow', ...queryParams(opts, queryId) });
      return await rs.json<T>();
    } catch (err) {
      throw toEngineError(err, 'query', opts.signal);
    } finally {
      stopKill();
    }
  }

  async *queryStream(sql: string, opts: QueryOptions & CallSettings = {}): AsyncIterable<Record<string, unknown>> {
    const client = this.requireClient();
    throwIfAborted(opts.signal);
    const signal = opts.signal;
    const queryId = opts.queryId ?? randomUUID();
    const stopKill = this.killOnAbort(queryId, signal);
    try {
      const rs = await client.query({ query: sql, format: 'JSONEachRow', ...queryParams(opts, queryId) });
      // The client honours abort_signal only until the response starts; after
      // that, closing the result set is what stops the transfer.
      const onAbort = () => rs.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        // The body is consumed as it arrives; an early break by the consumer
        // ends the iterator, which destroys the socket stream.
        for await (const batch of rs.stream<Record<string, unknown>>()) {
          for (const row of batch) {
            throwIfAborted(signal);
            yield row.json();
          }
        }
        // A closed stream may simply end; that must not look like a full result.
        throwIfAborted(signal);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      throw toEngineError(err, 'stream', signal);
    } finally {
      stopKill();
    }
  }

  async insertJsonLines(table: string, lines: string, opts: CallSettings = {}): Promise<void> {
    if (lines.length === 0) return;
    // Over HTTP the rows follow the statement in the request body, which the
    // server reads as raw input: neither escaped nor bounded by max_query_size.
    await this.exec(`INSERT INTO ${table} FORMAT JSONEachRow\n${lines}\n`, opts);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  private newClient(database: string): ClickHouseClient {
    return createClient({
      url: this.opts.url,
      database,
      request_timeout: this.opts.requestTimeoutMs,
      ...(this.opts.username !== undefined ? { username: this.opts.username } : {}),
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      clickhouse_settings: { ...ENGINE_SETTINGS },
      // Failures reach the caller as AppErrors and are logged there; the client's
      // own console logging would report every abort as an ERROR.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /**
   * Dropping the HTTP connection does not stop a query on 18.16 (it notices
   * only when it next writes), so an abort also sends KILL QUERY. Best effort:
   * the caller already has its AbortError. Returns the listener's remover.
   */
  private killOnAbort(queryId: string, signal: AbortSignal | undefined): () => void {
    if (!signal) return () => {};
    const onAbort = () => {
      this.client
        ?.command({ query: `KILL QUERY WHERE query_id = ${quoteString(queryId)} ASYNC` })
        .catch(() => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  private requireClient(): ClickHouseClient {
    if (!this.client) throw Errors.storageFailure('ClickHouse engine is not open');
    return this.client;
  }

  // ---- Raw result streams (the query path's wire formats) ----
  // Kept in one block: the server's own bytes are passed through as they
  // arrive, for the formats this server version writes.

  private rawFormats?: Promise<ReadonlySet<RawFormat>>;

  /**
   * The response body as the server writes it, chunk by chunk as it arrives.
   * The socket is read only as fast as the consumer pulls, so TCP flow control
   * slows the server down for a slow consumer. Breaking out or aborting closes
   * the response and sends KILL QUERY (18.16 notices a dropped connection only
   * when it next writes).
   */
  async *queryRaw(sql: string, format: RawFormat, opts: RawQueryOptions = {}): AsyncIterable<RawBlock> {
    const client = this.requireClient();
    throwIfAborted(opts.signal);
    const signal = opts.signal;
    const queryId = opts.queryId ?? randomUUID();
    const stopKill = this.killOnAbort(queryId, signal);
    try {
      // The FORMAT clause is ours: exec sends the statement as written and hands back the raw body.
      const res = await client.exec({
        query: `${sql}\nFORMAT ${format}`,
        query_id: queryId,
        clickhouse_settings: { ...opts.settings, ...RAW_FORMAT_SETTINGS[format] } as Record<string, string | number>,
        ...(signal ? { abort_signal: signal } : {}),
      });
      const body = res.stream;
      const onAbort = () => body.destroy();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          throwIfAborted(signal);
          yield { bytes: chunk };
        }
        // A destroyed body may simply end; that must not look like a full result.
        throwIfAborted(signal);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!body.destroyed) body.destroy();
      }
    } catch (err) {
      throw toEngineError(err, 'stream', signal);
    } finally {
      stopKill();
    }
  }

  /** Asked of the server once: ArrowStream needs a newer server than 18.16, and its settings to exist. */
  async writesFormat(format: RawFormat): Promise<boolean> {
    this.rawFormats ??= this.probeRawFormats().catch(() => {
      this.rawFormats = undefined; // a failed probe (server down) is asked again next time
      return new Set<RawFormat>(['JSONEachRow']);
    });
    return (await this.rawFormats).has(format);
  }

  private async probeRawFormats(): Promise<ReadonlySet<RawFormat>> {
    const formats = new Set<RawFormat>(['JSONEachRow']);
    const wanted = Object.keys(RAW_FORMAT_SETTINGS.ArrowStream);
    const [hasFormat] = await this.query<{ n: number | string }>("SELECT count() AS n FROM system.formats WHERE name = 'ArrowStream' AND is_output = 1").catch((err: unknown) => {
      if (isUnknownTableError(err)) return [{ n: 0 }]; // a server without system.formats has no ArrowStream either
      throw err;
    });
    if (Number(hasFormat?.n ?? 0) === 0) return formats;
    const settings = await this.query<{ name: string }>(`SELECT name FROM system.settings WHERE name IN (${wanted.map(quoteString).join(', ')})`);
    if (settings.length === wanted.length) formats.add('ArrowStream');
    return formats;
  }
}

function queryParams(
  opts: { signal?: AbortSignal } & CallSettings,
  queryId: string,
): { abort_signal?: AbortSignal; query_id: string; clickhouse_settings?: ClickHouseSettings } {
  return {
    query_id: queryId,
    ...(opts.signal ? { abort_signal: opts.signal } : {}),
    ...(opts.settings ? { clickhouse_settings: opts.settings } : {}),
  };
}
